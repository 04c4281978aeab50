"""CIR (Plizzari et al., "What can a cook in Italy teach a mechanic in India? Action Recognition Generalisation
Over Scenarios and Locations", ICCV 2023: Cross-Instance Reconstruction), with its loss: a head trained on clip
features of a frozen backbone.

    video -> `clips` consecutive clips -> frozen backbone -> clip features (clips, F)   (or precomputed ones)
          -> MLP: Linear(clips * F -> 4096), BN, ReLU, dropout 0.5, Linear(4096 -> 512), BN, ReLU, dropout 0.5
          -> z (512) -> classifier -> logits                          the only part used at test time
    CIR-action: z_i rebuilt as sum_j softmax_j(z_i . z_j) z_j over the other samples of the batch (self masked,
                fixed attention); the classifier on it, CE, weight 0.5
    CIR-text:   the same rebuild with a learned attention (q, k: Linear 512 -> 128 + LayerNorm); the rebuilt,
                L2-normalised z_i contrasted with the class-text embedding of its label (frozen all-MiniLM-L6-v2,
                then a 2-layer projection to 512) by a symmetric InfoNCE with a learnable temperature
                (init 1/0.07), weight 1.0

Training the head is cheap when the backbone's features are computed once per dataset: `tabench features`
writes them (cached, resumable) and the config key `features` makes the training loop read them instead of
videos; the model then receives (B, clips, F) tensors. Given a video (B, 3, clips * T, H, W) it runs the frozen
backbone itself on `clips` consecutive T-frame chunks, which is exactly what `tabench features` stores.

Differences from the official code (Chiaraplizz/ARGO1M-What-can-a-cook, `code/models.py`, `losses.py`), both
forced by the setting: the paper's variants that also mask same-scenario / same-location samples are dropped
(the protocol has no such labels; Motion-Transfer used 2 dummy ones, which makes them inert); the text per
sample is its class text (ARGO1M has a narration per clip), so in the InfoNCE every same-class pair of the
batch counts as a positive (targets spread uniformly over them) instead of the diagonal only. The learned
attention's q.k is scaled by 1/sqrt(128).

Full size (`cir_slowfast`): SlowFast R50 8x8 features (2304-d, 3 clips of 32 frames); the paper extracted
Kinetics-pretrained SlowFast features itself: give the backbone's weights with
`--set model_kwargs.backbone_weights=PATH` (and the same to `tabench features`). CPU size (`cir_tiny`):
rgbdiff_tiny's clip feature (512-d, 3 clips of 5 frames) with a 1024 -> 256 MLP; its backbone is frozen at its
random initialisation unless `backbone_weights` is given (there are no pretrained CPU weights offline).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tabench import TabenchError
from tabench.models._base import VideoClassifier
from tabench.models._registry import register_model

PAPER = ("Plizzari et al., What can a cook in Italy teach a mechanic in India? Action Recognition Generalisation "
         "Over Scenarios and Locations (ICCV 2023)")
TEXT_TEMPLATE = "a video of {}."


def backbone_feature_dim(backbone: nn.Module) -> int:
    if hasattr(backbone, "feature_dim"):
        return int(backbone.feature_dim)
    return int(backbone.get_classifier().in_features)


def clip_features(backbone: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(B, 3, T, H, W) -> (B, F): the backbone's pooled feature before its classifier (dropout skipped)."""
    if hasattr(backbone, "forward_features"):
        return backbone.forward_features(x)
    from tabench.models._ptv import PTVNet

    if isinstance(backbone, PTVNet):  # pytorchvideo nets: all blocks but the head, then the head's pooling
        backbone.check_input(x)
        z = backbone._prepare(x)
        for block in list(backbone.blocks)[:-1]:
            z = block(z)
        head = backbone.blocks[-1]
        if getattr(head, "pool", None) is not None:
            z = head.pool(z)
        return z.flatten(2).mean(-1)
    raise TabenchError(f"{type(backbone).__name__} exposes no clip feature for CIR (needs forward_features or a "
                       "pytorchvideo net)")


class CIR(VideoClassifier):
    classifier_name = "classifier"
    fixed_frames = True  # a video is `clips` consecutive chunks of the backbone's clip length

    def __init__(self, num_classes: int, backbone: str, clips: int = 3, frames_per_clip: int = 8,
                 default_size: int = 224, hidden: int = 4096, dim: int = 512, dropout: float = 0.5,
                 att_dim: int = 128, w_cir: float = 0.5, w_text: float = 1.0, backbone_weights: str | None = None,
                 backbone_kwargs: dict | None = None, backbone_seed: int = 0):
        super().__init__()
        from tabench.models import create_model

        self.backbone_name, self.clips, self.frames_per_clip = backbone, int(clips), int(frames_per_clip)
        # A fixed initialisation whatever the training seed, so that features extracted once match every run's
        # backbone (matters for the CPU version, whose backbone stays at its random initialisation).
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(backbone_seed))
            net = create_model(backbone, num_classes=1, weights=backbone_weights, **(backbone_kwargs or {}))
        for p in net.parameters():
            p.requires_grad_(False)
        self.backbone = net.eval()
        self.feature_dim = backbone_feature_dim(net)
        self.mlp = nn.Sequential(nn.Linear(self.clips * self.feature_dim, hidden), nn.BatchNorm1d(hidden),
                                 nn.ReLU(inplace=True), nn.Dropout(dropout),
                                 nn.Linear(hidden, dim), nn.BatchNorm1d(dim), nn.ReLU(inplace=True),
                                 nn.Dropout(dropout))
        self.classifier = nn.Linear(dim, num_classes)
        self.query = nn.Sequential(nn.Linear(dim, att_dim), nn.LayerNorm(att_dim))
        self.key = nn.Sequential(nn.Linear(dim, att_dim), nn.LayerNorm(att_dim))
        text_dim = 384  # all-MiniLM-L6-v2
        self.text_proj = nn.Sequential(nn.Linear(text_dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, dim))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.w_cir, self.w_text = float(w_cir), float(w_text)
        self.default_frames, self.default_size = self.clips * self.frames_per_clip, int(default_size)
        self.class_names: list[str] | None = None
        self._text = None
        self._z = None

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()  # frozen: BatchNorm statistics and dropout stay as in the backbone's weights
        return self

    # ---- inputs
    @torch.no_grad()
    def extract(self, video: torch.Tensor) -> torch.Tensor:
        """(B, 3, clips * T, H, W) -> (B, clips, F) with the frozen backbone: what `tabench features` stores."""
        self.check_input(video)
        t = video.shape[2]
        if t != self.default_frames:
            raise TabenchError(f"this CIR model takes {self.clips} clips of {self.frames_per_clip} frames "
                               f"({self.default_frames} frames), got {t}: pass --frames {self.default_frames}")
        chunks = video.chunk(self.clips, dim=2)
        was = self.backbone.training
        self.backbone.eval()
        out = torch.stack([clip_features(self.backbone, c) for c in chunks], dim=1)
        self.backbone.train(was)
        return out.float()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 5:
            return self.extract(x)
        if x.ndim == 2:
            x = x.view(x.shape[0], self.clips, -1)
        if x.ndim != 3 or tuple(x.shape[1:]) != (self.clips, self.feature_dim):
            raise TabenchError(f"CIR expects videos (B, 3, T, H, W) or clip features (B, {self.clips}, "
                               f"{self.feature_dim}) of {self.backbone_name}, got {tuple(x.shape)}")
        return x.float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.mlp(self.features(x).flatten(1))
        self._z = z if self.training else None
        return self.classifier(z)

    # ---- the text branch's label space
    def set_label_names(self, names: list[str]) -> None:
        """The class names of the training label space (the training loop gives them); their text embeddings
        are computed on first use with the frozen MiniLM."""
        names = [str(n) for n in names]
        if names != self.class_names:
            self.class_names, self._text = names, None

    def _text_embeddings(self, device) -> torch.Tensor:
        if self.class_names is None:
            raise TabenchError("CIR's text branch needs the class names: call set_label_names(names) first "
                               "(the training loop does)")
        if self._text is None:
            from tabench.models.videotext.core import MiniLMText, fill_template

            self._text = MiniLMText()([fill_template(TEXT_TEMPLATE, n) for n in self.class_names])
        return self._text.to(device)

    # ---- the loss
    def auxiliary_loss(self, y: torch.Tensor):
        """0.5 * CE of the fixed-attention rebuild + 1.0 * text InfoNCE of the learned-attention rebuild."""
        z, self._z = self._z, None
        if z is None or z.shape[0] < 2:  # nothing to rebuild a sample from
            return None
        self_mask = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
        fixed = (z @ z.t()).float().masked_fill(self_mask, float("-inf")).softmax(-1)
        loss = self.w_cir * F.cross_entropy(self.classifier(fixed.to(z.dtype) @ z).float(), y)
        if self.w_text > 0:
            q, k = self.query(z), self.key(z)
            learned = (q @ k.t() / math.sqrt(q.shape[-1])).float().masked_fill(self_mask, float("-inf")).softmax(-1)
            video = F.normalize((learned.to(z.dtype) @ z).float(), dim=-1)
            text = F.normalize(self.text_proj(self._text_embeddings(z.device)[y].to(z.dtype)).float(), dim=-1)
            logits = self.logit_scale.exp().clamp(max=100) * video @ text.t()
            same = (y[:, None] == y[None, :]).float()
            target = same / same.sum(1, keepdim=True)
            nce = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target.t()))
            loss = loss + self.w_text * nce
        return loss


@register_model(family="domain generalisation (head on frozen clip features)", paper=PAPER,
                default_frames=96, default_size=224, cpu_frames=96, cpu_size=112)
def cir_slowfast(num_classes: int = 400, backbone_weights: str | None = None, clips: int = 3) -> nn.Module:
    """CIR head (3 x 2304 -> 4096 -> 512) on frozen SlowFast R50 features, 3 clips of 32 frames."""
    return CIR(num_classes, "slowfast_r50", clips=clips, frames_per_clip=32, default_size=224,
               backbone_weights=backbone_weights)


@register_model(family="domain generalisation (head on frozen clip features)", paper=PAPER,
                default_frames=15, default_size=48, cpu_sized=True)
def cir_tiny(num_classes: int = 400, backbone_weights: str | None = None, clips: int = 3, frames_per_clip: int = 5,
             hidden: int = 1024, dim: int = 256, att_dim: int = 64) -> nn.Module:
    """CIR head (3 x 512 -> 1024 -> 256) on frozen rgbdiff_tiny clip features, 3 clips of 5 frames: CPU-sized."""
    return CIR(num_classes, "rgbdiff_tiny", clips=clips, frames_per_clip=frames_per_clip, default_size=48,
               hidden=hidden, dim=dim, att_dim=att_dim, backbone_weights=backbone_weights)
