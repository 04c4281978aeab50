"""CoCo (seed 004: Zhou et al., "ActionHub: a large-scale action video description dataset for zero-shot action
recognition"): Cross-modality and cross-action modelling on top of enriched class semantics.

* **Dual alignment.** Each class has two text embeddings in the video space: z^l from its action definition and
  z^c, the mean over its (top-k) video descriptions; one shared text projection F_s (a linear map on the frozen
  sentence encoder, as the paper's frozen BERT + FC). Training minimises L_align = CE(softmax(v . z^l / tau))
  + CE(softmax(v . z^c / tau)), tau = 0.1, v and z L2-normalised.
* **Fusion at inference.** z = alpha z^l + (1 - alpha) z^c, alpha = 0.5 by default, argmax of v . z.
* **Cross-action invariance mining (CIM)**, transductive: it uses the *unseen* classes' texts z^u during
  training. Forward x^f_j = sum_m softmax_m(z^s_j . z^u_m / tau) z^u_m, backward
  x^b_j = sum_n softmax_n(x^f_j . z^s_n / tau) z^s_n, and L_cycle = CE(softmax(v . x^b / tau), y);
  L = L_align + gamma L_cycle, gamma = 0.1. It runs only when the unseen texts are given
  (`set_unseen_class_texts`), which tabench does only with `--transductive`; such runs are marked
  `transductive: true` in results.json and the report.

The label space comes from `class_text: enriched` (`tabench.classtext`): each class prompt's first sentence is
the definition, the rest are the descriptions, and the definition's weight is alpha. The training loop's cross
entropy is the definition term (the forward's training logits); the description and cycle terms are
`auxiliary_loss(targets)`.

Differences from the paper, by necessity of an offline 2-core CPU: the video encoder is tabench's RGBDiff-tiny
trained from scratch (the paper uses frozen pretrained backbones + FC), descriptions are ranked by MiniLM instead
of word2vec similarity, and the embedding width is 256 (the paper's 512).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from tabench import TabenchError
from tabench.models.videotext._register import register_video_text
from tabench.models.videotext.core import DiffGridVideoEncoder, MiniLMText, VideoTextModel

PAPER = "Zhou et al., ActionHub / CoCo: zero-shot action recognition with enriched semantics (seed 004)"


class CoCo(VideoTextModel):
    method = "coco"
    default_class_text = "enriched"  # tabench.classtext: a definition + descriptions per class

    def __init__(self, visual, text, *, tau: float = 0.1, gamma: float = 0.1, **kw):
        if tau <= 0:
            raise TabenchError(f"coco: tau must be > 0, got {tau}")
        kw.update(logit_scale=math.log(1.0 / tau), learn_scale=False)
        super().__init__(visual, text, **kw)
        self.tau, self.gamma = float(tau), float(gamma)
        self.unseen_texts = None
        self._sources_cache = {}

    # ----- label space
    def set_unseen_class_texts(self, prompts) -> None:
        """The unseen classes' enriched prompts, for cross-action invariance mining (transductive)."""
        self.unseen_texts = list(prompts) if prompts is not None else None

    def _raw_sources(self, prompts) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(definition features (K, F), weighted mean description features (K, F), alpha (K,)), text space."""
        from tabench.classtext import ClassPrompt

        if not prompts or not all(isinstance(p, ClassPrompt) and len(p.texts) >= 2 for p in prompts):
            raise TabenchError("coco needs enriched class texts (a definition and descriptions per class): "
                               "set class_text: enriched")
        key = tuple(prompts)
        if not self.text.trainable and key in self._sources_cache:
            return self._sources_cache[key]
        sentences = list(dict.fromkeys(s for p in prompts for s in p.texts))
        with torch.set_grad_enabled(self.text.trainable and torch.is_grad_enabled()):
            feats = dict(zip(sentences, self._encode_prompts(sentences, ("{}",))[:, 0]))
        defs = torch.stack([feats[p.texts[0]] for p in prompts])
        descs = []
        for p in prompts:
            w = torch.tensor(p.weights[1:], dtype=defs.dtype)
            descs.append((w[:, None] * torch.stack([feats[s] for s in p.texts[1:]])).sum(0) / w.sum())
        alpha = torch.tensor([p.weights[0] for p in prompts], dtype=defs.dtype)
        out = (defs, torch.stack(descs), alpha)
        if not self.text.trainable:
            self._sources_cache = {key: out}
        return out

    def _embed_sources(self, prompts):
        """z^l, z^c (normalised, video space) and the fused z = alpha z^l + (1 - alpha) z^c."""
        defs, descs, alpha = self._raw_sources(prompts)
        dev = self.logit_scale.device
        zl = F.normalize(self.text_proj(defs.to(dev)), dim=-1)
        zc = F.normalize(self.text_proj(descs.to(dev)), dim=-1)
        a = alpha.to(dev)[:, None]
        return zl, zc, a * zl + (1 - a) * zc

    def class_embeddings(self) -> torch.Tensor:
        return self._embed_sources(self.class_texts)[2]

    # ----- video side and losses
    def encode_video(self, x):
        if x.ndim != 5 or x.shape[1] != 3:
            raise ValueError(f"expected a clip batch of shape (B, 3, T, H, W), got {tuple(x.shape)}")
        return self.visual(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._aux = None
        video = F.normalize(self.encode_video(x), dim=-1)
        zl, zc, z = self._embed_sources(self.class_texts)
        scale = 1.0 / self.tau
        self._last = (video, z.to(video.dtype))
        if self.training:
            self._train_parts = (video, zl.to(video.dtype), zc.to(video.dtype), z.to(video.dtype))
            return scale * video @ zl.to(video.dtype).t()
        return scale * video @ z.to(video.dtype).t()

    def auxiliary_loss(self, targets: torch.Tensor | None = None) -> torch.Tensor:
        """CE over the description embeddings (the second alignment term) + gamma * L_cycle when unseen texts
        are given; the definition term is the training loop's cross entropy."""
        zero = self.logit_scale.new_zeros(())
        if not self.training or getattr(self, "_train_parts", None) is None:
            return zero
        if targets is None:
            raise TabenchError("coco's auxiliary loss needs the batch labels")
        video, _, zc, z = self._train_parts
        self._train_parts = None
        scale = 1.0 / self.tau
        loss = F.cross_entropy(scale * video @ zc.t(), targets)
        if self.unseen_texts and self.gamma:
            zu = self._embed_sources(self.unseen_texts)[2].to(video.dtype)
            forward = F.softmax(scale * z @ zu.t(), dim=1) @ zu  # x^f: seen class -> unseen classes
            backward = F.softmax(scale * forward @ z.t(), dim=1) @ z  # x^b: back to the seen classes
            loss = loss + self.gamma * F.cross_entropy(scale * video @ backward.t(), targets)
        return loss


@register_video_text(paper=PAPER, default_frames=8, default_size=48, cpu_sized=True, text="minilm",
                     class_text="enriched", uses_unseen_texts=True)
def coco_minilm_tiny(num_classes=None, class_texts=None, frames=8, size=48, embed_dim=256, tau=0.1, gamma=0.1,
                     **kw):
    """CoCo on the RGBDiff-tiny video encoder + frozen MiniLM definitions/descriptions (class_text: enriched)."""
    return CoCo(DiffGridVideoEncoder(embed_dim), MiniLMText(), default_frames=frames, default_size=size,
                class_texts=class_texts, tau=tau, gamma=gamma, **kw)
