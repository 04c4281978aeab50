"""FROSTER (Huang et al., "FROSTER: Frozen CLIP is a Strong Teacher for Open-Vocabulary Action Recognition",
ICLR 2024): the student is CLIP fine-tuned on videos (frame embeddings averaged over time, as in ViFi-CLIP); a
frozen copy of the initial CLIP is the teacher. Residual feature distillation keeps the student's features
close to the teacher's, which is what keeps it general on unseen classes, through a residual sub-network so
the student itself need not equal the teacher:

    distill = || normalize(f_s + alpha * MLP(f_s)) - normalize(f_t) ||^2      (MLP's last layer starts at zero)

for the video features (teacher: frozen CLIP frames averaged) and, when the text tower is trained, for the text
features (teacher: the frozen text tower). `auxiliary_loss()` returns distill_weight * (video + text terms).

At CPU size there are no CLIP weights, so the teacher is a frozen copy of the randomly initialised tiny ViT and
only the video term applies (MiniLM captions are frozen); give `pretrained=` CLIP weights for the real thing.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from tabench.models.videotext._register import build, register_video_text
from tabench.models.videotext.core import MeanPoolVideoText, fill_template, freeze

PAPER = "Huang et al., FROSTER: Frozen CLIP is a Strong Teacher for Open-Vocabulary Action Recognition (ICLR 2024)"


class ResidualProjector(nn.Module):
    """f -> f + alpha * MLP(f); the MLP's output layer starts at zero."""

    def __init__(self, dim: int, alpha: float = 0.1):
        super().__init__()
        self.alpha = float(alpha)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def forward(self, f):
        return f + self.alpha * self.mlp(f)


def distill(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    return (F.normalize(student, dim=-1) - F.normalize(teacher.detach(), dim=-1)).pow(2).sum(-1).mean()


class FROSTER(MeanPoolVideoText):
    method = "froster"

    def __init__(self, visual, text, *, distill_weight: float = 1.0, residual_alpha: float = 0.1, **kw):
        super().__init__(visual, text, **kw)
        self.distill_weight = float(distill_weight)
        self.teacher_visual = freeze(copy.deepcopy(visual))
        self.video_residual = ResidualProjector(self.embed_dim, residual_alpha)
        self.distill_text = text.trainable and text.aligned
        if self.distill_text:
            self.teacher_text = freeze(copy.deepcopy(text))
            self.text_residual = ResidualProjector(self.embed_dim, residual_alpha)
        self._teacher_cache: tuple[list[str], torch.Tensor] | None = None

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher_visual.eval()  # the teacher never trains (no dropout, fixed statistics)
        if self.distill_text:
            self.teacher_text.eval()
        return self

    def encode_video(self, x):
        b, t = x.shape[0], x.shape[2]
        frames = self.frames(x)
        student = self.visual(frames).view(b, t, -1).mean(1)
        if self.training and self.distill_weight:
            with torch.no_grad():
                teacher = self.teacher_visual(frames).view(b, t, -1).mean(1)
            self._aux = self.distill_weight * distill(self.video_residual(student), teacher)
        return student

    def _teacher_text(self) -> torch.Tensor:
        """The frozen text tower's prompt-ensembled class features (cached per label space)."""
        if self._teacher_cache is None or self._teacher_cache[0] != self.class_texts:
            with torch.no_grad():
                prompts = [fill_template(tp, c) for c in self.class_texts for tp in self.templates]
                feats = F.normalize(self.teacher_text(prompts).float(), dim=-1)
                feats = feats.view(len(self.class_texts), len(self.templates), -1).mean(1)
            self._teacher_cache = (list(self.class_texts), feats)
        return self._teacher_cache[1]

    def forward(self, x):
        logits = super().forward(x)
        if self.training and self.distill_text and self.distill_weight:
            student_text = self._last[1]  # this step's class embeddings, with gradients into the text tower
            term = self.distill_weight * distill(self.text_residual(student_text), self._teacher_text())
            self._aux = term if self._aux is None else self._aux + term
        return logits


@register_video_text(paper=PAPER, default_frames=8, default_size=64, cpu_sized=True, text="minilm")
def froster_minilm_tiny(num_classes=None, class_texts=None, pretrained=None, train_text=0, frames=8, **kw):
    """FROSTER at CPU size: tiny ViT student + frozen teacher copy, residual feature distillation, MiniLM captions."""
    return build(FROSTER, size="tiny", pretrained=pretrained, text="minilm", train_text=train_text, frames=frames,
                 class_texts=class_texts, **kw)


@register_video_text(paper=PAPER, default_frames=8, default_size=224, cpu_sized=False, text="clip", sampling="dense",
                     frame_interval=16)
def froster_b16(num_classes=None, class_texts=None, pretrained=None, train_text=True, frames=8, **kw):
    """FROSTER-B/16 (8 frames): fine-tuned CLIP student, frozen CLIP teacher for video and text; needs CLIP weights."""
    return build(FROSTER, size="b16", pretrained=pretrained, text="clip", train_text=train_text, frames=frames,
                 class_texts=class_texts, **kw)
