"""FROSTER (Huang et al., "FROSTER: Frozen CLIP is a Strong Teacher for Open-Vocabulary Action Recognition",
ICLR 2024), as its official code (github.com/Visual-AI/FROSTER: `slowfast/models/temporalclip_video_model.py`,
`customize_visiontransformer.py`, `torch_utils/functional.py`, `tools/train_net.py`) and its released training
scripts (`TEMPORAL_MODELING_TYPE: expand_temporal_view`, `RAW_MODEL_DISTILLATION: True`,
`DISTILLATION_RATIO: 2.0`) build and train it:

* **Student**: CLIP with both encoders fine-tuned, whose every visual block attends over an expanded temporal
  view (`temporal_attention`): a frame's queries see the keys/values of its own tokens and of the same tokens of
  frames t-1 and t+1 (3L keys; a missing neighbour at the clip's ends is all zeros, which still takes part in the
  softmax, as in the official code). No parameter is added.
* **Teacher**: the frozen original CLIP (`teacher_visual`, `teacher_text`), always in eval mode, plain per-frame.
* **Residual feature distillation**, per frame: z' = z + 0.1 * P_v(z) for each frame's normalised embedding z,
  w' = w + 0.1 * P_t(w) for each class embedding; P = Linear(D, D, no bias) - GELU - Linear(D, D, no bias), the
  first kaiming-normal, the second zero (`projector_v`, `projector_t`). distill = (1 - mean cos(z', z_teacher))
  + (1 - mean cos(w', w_teacher)); `auxiliary_loss()` returns 2.0 * distill; cross-entropy stays the main loss.
* Classification uses the pre-projector features: logits = scale * z_t . w, averaged over the frames.
* At test time neither the teacher nor the projectors are used.

At CPU size the text tower is the frozen MiniLM, so there is no text distillation and no `projector_t` (every
parameter that exists gets a gradient); the teacher is a frozen copy of the randomly initialised tiny ViT.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from tabench.models.videotext._register import build, register_video_text
from tabench.models.videotext.core import MeanPoolVideoText, freeze

PAPER = "Huang et al., FROSTER: Frozen CLIP is a Strong Teacher for Open-Vocabulary Action Recognition (ICLR 2024)"
ALPHA = 0.1  # the residual projectors' weight, hard-coded in the official code


def projector(dim: int) -> nn.Sequential:
    """FROSTER's residual projector: Linear - GELU - Linear, no biases; kaiming-normal, then zero."""
    p = nn.Sequential(nn.Linear(dim, dim, bias=False), nn.GELU(), nn.Linear(dim, dim, bias=False))
    nn.init.kaiming_normal_(p[0].weight)
    nn.init.zeros_(p[2].weight)
    return p


def temporal_attention(attn: nn.Module, h: torch.Tensor, b: int, t: int) -> torch.Tensor:
    """A CLIP attention (transformers' CLIPAttention) over the expanded temporal view: tokens h (B*T, L, W) of
    frame t attend to the keys/values of frames t+1, t-1 (zeros beyond the clip) and t."""
    n, length, w = h.shape
    heads = attn.num_heads
    q, k, v = attn.q_proj(h), attn.k_proj(h), attn.v_proj(h)

    def expand(z):
        z = z.view(b, t, length, w)
        zero = z.new_zeros(b, 1, length, w)
        nxt, prev = torch.cat([z[:, 1:], zero], 1), torch.cat([zero, z[:, :-1]], 1)
        return torch.cat([nxt, prev, z], 2).view(n, 3 * length, w)

    def split(z):
        return z.view(n, z.shape[1], heads, w // heads).transpose(1, 2)

    out = F.scaled_dot_product_attention(split(q), split(expand(k)), split(expand(v)), scale=attn.scale)
    return attn.out_proj(out.transpose(1, 2).reshape(n, length, w))


class FROSTER(MeanPoolVideoText):
    method = "froster"

    def __init__(self, visual, text, *, distill_weight: float = 2.0, **kw):
        super().__init__(visual, text, **kw)
        self.distill_weight = float(distill_weight)
        self.teacher_visual = freeze(copy.deepcopy(visual))
        self.projector_v = projector(self.embed_dim)
        self.distill_text = text.trainable and text.aligned
        if self.distill_text:
            self.teacher_text = freeze(copy.deepcopy(text))
            self.projector_t = projector(self.embed_dim)
        self._teacher_cache: tuple[list[str], torch.Tensor] | None = None

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher_visual.eval()  # the teacher never trains (no dropout, fixed statistics)
        if self.distill_text:
            self.teacher_text.eval()
        return self

    def student_frames(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) -> the student's normalised per-frame embeddings (B, T, D)."""
        b, t = x.shape[0], x.shape[2]
        vis = self.visual
        h = vis.embed(self.frames(x))
        for i, layer in enumerate(vis.layers):
            h = h + temporal_attention(layer.self_attn, layer.layer_norm1(h), b, t)
            h = h + vis.mlp(i, h)
        return F.normalize(vis.head(h[:, 0]), dim=-1).view(b, t, -1)

    def encode_video(self, x):
        """The mean of the normalised frame embeddings (its dot product with a class embedding is the mean of the
        per-frame logits, FROSTER's prediction)."""
        return self.student_frames(x).mean(1)

    def _teacher_text(self) -> torch.Tensor:
        """The frozen text tower's class features of the same label space as the student's, encoded the same way
        (prompt-ensembled names, or `ClassPrompt` sentence sets with their weights; cached per label space)."""
        if self._teacher_cache is None or self._teacher_cache[0] != self.class_texts:
            with torch.no_grad():
                feats = self._encode_prompts(self.class_texts, self.templates, self.teacher_text)
                feats = F.normalize(feats.mean(1), dim=-1)
            self._teacher_cache = (list(self.class_texts), feats)
        return self._teacher_cache[1]

    def forward(self, x):
        self._aux = None
        frames = self.student_frames(x)  # (B, T, D), normalised
        text = self.class_embeddings().to(frames.dtype)
        self._last = (F.normalize(frames.mean(1), dim=-1), text)
        scale = self.logit_scale.clamp(max=4.6052).exp()
        logits = scale * frames.mean(1) @ text.t()  # = the per-frame logits averaged over time
        if self.training and self.distill_weight:
            z = frames.flatten(0, 1)
            with torch.no_grad():
                teacher = F.normalize(self.teacher_visual(self.frames(x)), dim=-1)
            loss = 1 - F.cosine_similarity(z + ALPHA * self.projector_v(z), teacher, dim=-1).mean()
            if self.distill_text:
                loss = loss + 1 - F.cosine_similarity(text + ALPHA * self.projector_t(text),
                                                      self._teacher_text().to(text.dtype), dim=-1).mean()
            self._aux = self.distill_weight * loss
        return logits


@register_video_text(paper=PAPER, default_frames=8, default_size=64, cpu_sized=True, text="minilm")
def froster_minilm_tiny(num_classes=None, class_texts=None, pretrained=None, train_text=0, frames=8, **kw):
    """FROSTER at CPU size: tiny ViT student with t-1/t+1 attention, frozen teacher copy, per-frame distillation."""
    return build(FROSTER, size="tiny", pretrained=pretrained, text="minilm", train_text=train_text, frames=frames,
                 class_texts=class_texts, **kw)


@register_video_text(paper=PAPER, default_frames=8, default_size=224, cpu_sized=False, text="clip", sampling="dense",
                     frame_interval=16)
def froster_b16(num_classes=None, class_texts=None, pretrained=None, train_text=True, frames=8, **kw):
    """FROSTER-B/16 (8 frames): fine-tuned CLIP student with temporal attention, frozen CLIP teacher; needs CLIP weights."""
    return build(FROSTER, size="b16", pretrained=pretrained, text="clip", train_text=train_text, frames=frames,
                 class_texts=class_texts, **kw)
