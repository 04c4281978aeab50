"""VideoDG (Yao et al., "Videodg: Generalizing temporal relations in videos to novel domains", TPAMI 2021): a
TSN-style per-frame encoder followed by the Adversarial Pyramid Network (APN), with its loss.

    frames -> per-frame encoder -> dropout -> Linear(F -> 256)                  one 256-d token per frame
    APN:  A   = R(all, all)                                                     local/global relation, T tokens
          for each scale s = T-1 .. 2:  S = R(subset_s, subset_s)               one random s-frame subset
                                        C_s = R(S, A)                           the full set attends to it
          main logits  = Linear(ReLU(flatten(A + sum_s C_s)))                   Linear(T * 256 -> C)
          cross logits = the same Linear on flatten(sum_s C_s)                  used by the adversarial step

`R(x, y)` is one shared transformer encoder-decoder block (width 256, 4 heads, FFN 1024, dropout 0.3): the encoder
self-attends over x, the decoder runs causal self-attention over y, then cross-attends from y to the encoded x,
then its FFN. As in the official module (thuml/VideoDG, `module/Pyramidmodule.py`, `Attmodules.py`): Q/K/V
projections are Linear + ReLU with no output projection, attention weights get dropout, each sub-layer is
residual + LayerNorm, and the decoder output gets dropout. The same `final` Linear serves both heads.

The adversarial data augmentation (`adversarial=True`; off by default because the released `train.sh` and the
paper authors' scripts do not pass `--add_dg`, so as released only APN is trained): two copies of the input are
perturbed in pixel space by 5 gradient-ascent steps (SGD, lr 1.0) on CE - 0.01 * MSE(feature_adv, feature_clean),
one on the main pyramid (its logits and flattened feature), the other on the cross-relation branch; the model is
then trained with CE on the clean and both perturbed batches. Here the clean batch's CE is the training loop's;
`auxiliary_loss` adds the two perturbed batches' CE (the official code averages the three in one batch, i.e. the
same gradient direction at 1/3 of the scale, and normalises the three copies together in BatchNorm).

Full size (`videodg_r50`): ImageNet-style ResNet-50 per frame (transformers' ResNetModel, random init; load
ImageNet weights with --weights), 5 segments, partial BatchNorm (all BN layers but the first frozen) as released.
CPU size (`videodg_tiny`): rgbdiff_tiny's frame-difference CNN and 6x6 grid as the per-frame encoder, 8 frames.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tabench import TabenchError
from tabench.models._base import VideoClassifier
from tabench.models._registry import IMAGENET_MEAN, IMAGENET_STD, register_model

PAPER = "Yao et al., VideoDG: Generalizing Temporal Relations in Videos to Novel Domains (TPAMI 2021)"


class RelationAttention(nn.Module):
    """Multi-head attention as in VideoDG's `multihead_attention`: ReLU'd Q/K/V projections, dropout on the
    attention weights, residual to the queries, LayerNorm; optionally causal."""

    def __init__(self, dim: int, heads: int, dropout: float, causal: bool = False):
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by {heads} heads")
        self.heads, self.causal = heads, causal
        self.q = nn.Sequential(nn.Linear(dim, dim), nn.ReLU())
        self.k = nn.Sequential(nn.Linear(dim, dim), nn.ReLU())
        self.v = nn.Sequential(nn.Linear(dim, dim), nn.ReLU())
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        b, tq, d = queries.shape
        tk, h = keys.shape[1], self.heads
        q = self.q(queries).view(b, tq, h, d // h).transpose(1, 2)
        k = self.k(keys).view(b, tk, h, d // h).transpose(1, 2)
        v = self.v(keys).view(b, tk, h, d // h).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // h)
        if self.causal:
            mask = torch.ones(tq, tk, dtype=torch.bool, device=scores.device).tril()
            scores = scores.masked_fill(~mask, float("-inf"))
        out = self.drop(scores.softmax(-1)) @ v
        return self.norm(out.transpose(1, 2).reshape(b, tq, d) + queries)


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.fc2, self.norm = nn.Linear(dim, hidden), nn.Linear(hidden, dim), nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(self.fc2(F.relu(self.fc1(x))) + x)


class RelationTransformer(nn.Module):
    """One encoder block on x, one decoder block on y attending to it; output has y's length."""

    def __init__(self, dim: int = 256, heads: int = 4, ffn: int = 1024, dropout: float = 0.3):
        super().__init__()
        self.enc_attn = RelationAttention(dim, heads, dropout)
        self.enc_ffn = FeedForward(dim, ffn)
        self.dec_self_attn = RelationAttention(dim, heads, dropout, causal=True)
        self.dec_cross_attn = RelationAttention(dim, heads, dropout)
        self.dec_ffn = FeedForward(dim, ffn)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        enc = self.enc_ffn(self.enc_attn(x, x))
        dec = self.dec_self_attn(y, y)
        dec = self.dec_ffn(self.dec_cross_attn(dec, enc))
        return self.drop(dec)


class APN(nn.Module):
    """The adversarial pyramid network over T frame tokens. Returns (main logits, main feature, cross logits,
    cross feature); features are the flattened (B, T * dim) token sums the adversarial step compares."""

    def __init__(self, frames: int, num_classes: int, dim: int = 256, heads: int = 4, ffn: int = 1024,
                 dropout: float = 0.3):
        super().__init__()
        if frames < 3:
            raise ValueError(f"APN needs at least 3 frames (scales T-1..2), got {frames}")
        self.frames = int(frames)
        self.transformer = RelationTransformer(dim, heads, ffn, dropout)
        self.final = nn.Linear(frames * dim, num_classes)

    def forward(self, tokens: torch.Tensor):
        b, t, _ = tokens.shape
        if t != self.frames:
            raise TabenchError(f"this VideoDG model was built for {self.frames} frames, got {t}: pass --frames "
                               f"{self.frames} or build it with --set model_kwargs.frames={t}")
        full = self.transformer(tokens, tokens)
        total, cross = full, None
        for s in range(t - 1, 1, -1):  # one random s-frame subset per scale, in temporal order
            idx = torch.randperm(t, device=tokens.device)[:s].sort().values
            sub = tokens.index_select(1, idx)
            rel = self.transformer(self.transformer(sub, sub), full)
            cross = rel if cross is None else cross + rel
            total = total + rel
        main_feat, cross_feat = total.flatten(1), cross.flatten(1)
        return self.final(F.relu(main_feat)), main_feat, self.final(F.relu(cross_feat)), cross_feat


class VideoDG(VideoClassifier):
    classifier_name = "apn.final"
    fixed_frames = True  # the head is Linear(T * 256 -> C): the clip length is part of the architecture

    def __init__(self, encoder: nn.Module, feature_dim: int, num_classes: int, frames: int, dim: int = 256,
                 heads: int = 4, ffn: int = 1024, dropout: float = 0.3, feature_dropout: float = 0.8,
                 adversarial: bool = False, adv_steps: int = 5, adv_lr: float = 1.0, adv_alpha: float = 0.01,
                 default_size: int = 224):
        super().__init__()
        self.encoder = encoder
        self.feature_dropout = nn.Dropout(feature_dropout)
        self.frame_fc = nn.Linear(feature_dim, dim)
        nn.init.normal_(self.frame_fc.weight, std=0.001)  # as the released new_fc
        nn.init.zeros_(self.frame_fc.bias)
        self.apn = APN(frames, num_classes, dim, heads, ffn, dropout)
        self.adversarial, self.adv_steps = bool(adversarial), int(adv_steps)
        self.adv_lr, self.adv_alpha = float(adv_lr), float(adv_alpha)
        self.default_frames, self.default_size = int(frames), int(default_size)
        self._last_input = None

    def _outputs(self, x: torch.Tensor):
        self.check_input(x)
        b, t = x.shape[0], x.shape[2]
        feats = self.encoder(x)  # (B * T, F)
        tokens = self.frame_fc(self.feature_dropout(feats)).view(b, t, -1)
        return self.apn(tokens)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._last_input = x.detach() if (self.training and self.adversarial) else None
        return self._outputs(x)[0]

    def _ascend(self, x: torch.Tensor, y: torch.Tensor, branch: int) -> torch.Tensor:
        """One perturbed copy: gradient ascent in pixel space on CE - alpha * MSE(feature, clean feature) of the
        main (branch 0) or cross-relation (branch 2) head. Only the input moves; no parameter gradient is kept."""
        adv = x.clone()
        for _ in range(self.adv_steps):
            with torch.no_grad():
                clean_feat = self._outputs(x)[branch + 1]
            adv.requires_grad_(True)
            out = self._outputs(adv)
            gain = F.cross_entropy(out[branch].float(), y) - self.adv_alpha * F.mse_loss(out[branch + 1], clean_feat)
            (grad,) = torch.autograd.grad(gain, adv)
            adv = (adv + self.adv_lr * grad).detach()
        return adv

    def auxiliary_loss(self, y: torch.Tensor):
        """With `adversarial`: CE on the two adversarially perturbed copies of the last training batch."""
        x, self._last_input = self._last_input, None
        if x is None:
            return None
        adv_main, adv_cross = self._ascend(x, y, 0), self._ascend(x, y, 2)
        return (F.cross_entropy(self._outputs(adv_main)[0].float(), y)
                + F.cross_entropy(self._outputs(adv_cross)[0].float(), y))


# ------------------------------------------------------------------------------------------- encoders
class ResNetFrames(nn.Module):
    """ImageNet-style ResNet-50 on every frame -> (B * T, 2048) pooled features (transformers' ResNetModel,
    as resnet50_tsn). `partial_bn` freezes every BatchNorm but the first (statistics and affine), as TSN and
    the released VideoDG/STDN code do when fine-tuning from ImageNet."""

    def __init__(self, partial_bn: bool = True):
        super().__init__()
        from transformers import ResNetConfig, ResNetModel

        cfg = ResNetConfig(depths=[3, 4, 6, 3], hidden_sizes=[256, 512, 1024, 2048], layer_type="bottleneck",
                           embedding_size=64, downsample_in_first_stage=False)
        self.backbone = ResNetModel(cfg)
        self.out_dim = 2048
        self.partial_bn = bool(partial_bn)
        if self.partial_bn:
            for bn in self._frozen_bns():
                for p in bn.parameters():
                    p.requires_grad_(False)

    def _frozen_bns(self):
        return [m for m in self.backbone.modules() if isinstance(m, nn.BatchNorm2d)][1:]

    def train(self, mode: bool = True):
        super().train(mode)
        if self.partial_bn:
            for bn in self._frozen_bns():
                bn.eval()
        return self

    def forward(self, x):
        b, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(b * t, c, h, w)
        return self.backbone(pixel_values=frames).pooler_output.flatten(1)


class DiffGridFrames(nn.Module):
    """rgbdiff_tiny's encoder per frame: frame differences -> 2D CNN -> kept `grid` x `grid` map, flattened."""

    def __init__(self, width: int = 32, grid: int = 6):
        super().__init__()
        from tabench.models.rgbdiff_tiny import frame_cnn

        self.cnn, self.grid = frame_cnn(width, kaiming=True), int(grid)
        self.out_dim = 2 * int(width) * self.grid * self.grid

    def forward(self, x):
        from tabench.models.rgbdiff_tiny import difference_frames

        f = self.cnn(difference_frames(x))
        return F.adaptive_avg_pool2d(f, self.grid).flatten(1)


@register_model(family="domain generalisation (2D CNN + relation transformer)", paper=PAPER,
                default_frames=5, default_size=224, cpu_frames=5, cpu_size=112,
                input_mean=IMAGENET_MEAN, input_std=IMAGENET_STD, pretrained="ImageNet (ResNet-50)")
def videodg_r50(num_classes: int = 400, frames: int = 5, feature_dropout: float = 0.8, adversarial: bool = False,
                partial_bn: bool = True) -> nn.Module:
    """VideoDG/APN on a TSN ResNet-50, 5 segments (adversarial augmentation off, as released)."""
    enc = ResNetFrames(partial_bn=partial_bn)
    return VideoDG(enc, enc.out_dim, num_classes, frames, feature_dropout=feature_dropout,
                   adversarial=adversarial, default_size=224)


@register_model(family="domain generalisation (2D CNN + relation transformer)", paper=PAPER,
                default_frames=8, default_size=48, cpu_sized=True)
def videodg_tiny(num_classes: int = 400, frames: int = 8, width: int = 32, grid: int = 6, dim: int = 256,
                 feature_dropout: float = 0.3, adversarial: bool = False) -> nn.Module:
    """VideoDG/APN (full width 256, 4 heads) on rgbdiff_tiny's frame encoder, 8 frames: CPU-sized."""
    enc = DiffGridFrames(width, grid)
    return VideoDG(enc, enc.out_dim, num_classes, frames, dim=dim, ffn=4 * dim, feature_dropout=feature_dropout,
                   adversarial=adversarial, default_size=48)
