"""EZ-CLIP (Ahmad, Chanda & Rawat, "EZ-CLIP: Efficient Zero-Shot Video Action Recognition", 2024): CLIP stays
frozen (image and text encoders); only small parts learn:

* temporal visual prompts: at every ViT block each frame gets a few learnable prompt tokens (specific to its
  position in the clip) plus a temporal context computed by attention over the [CLS] tokens of all frames of
  the video; they join the frame's tokens for that block and are dropped after it, so temporal information
  reaches the frozen spatial attention without changing it;
* spatial adapters: a bottleneck adapter (zero-initialised, so training starts from CLIP) on each block's
  attention output;
* the motion loss: it rewards frame embeddings that change over time (their spread around the clip mean and
  the size of frame-to-frame differences), steering the prompts towards motion rather than appearance.
  Here L_motion = 1 - (mean ||e_t+1 - e_t|| / 2 + sqrt(sum of temporal variances)) / 2 on unit frame
  embeddings e_t, which lies in [0, 1]; `auxiliary_loss()` returns motion_weight * L_motion.

`ezclip_disentangle_*` is the paper's appendix C variant: the last two blocks are duplicated into a coarse and a
fine branch (no temporal prompts there), the fine branch's output is added to the coarse branch after each block,
and the two [CLS] tokens go through the shared final LayerNorm and their own projections (the fine one learns).
Logits come from the coarse branch; the fine branch's embedding is trained through the residual (and is
exposed as `last_fine_embedding` for methods that supervise it with fine captions).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from tabench.models.videotext._register import build, register_video_text
from tabench.models.videotext.core import Adapter, VideoTextModel, freeze

PAPER = "Ahmad, Chanda & Rawat, EZ-CLIP: Efficient Zero-Shot Video Action Recognition (TMLR 2025)"


def motion_loss(frames: torch.Tensor) -> torch.Tensor:
    """Frame embeddings (B, T, D) -> a loss in [0, 1] that falls as the embeddings vary more over time."""
    e = F.normalize(frames, dim=-1)
    if e.shape[1] < 2:
        return e.new_zeros(())
    step = (e[:, 1:] - e[:, :-1]).norm(dim=-1).mean() / 2
    spread = (e.var(dim=1, unbiased=False).sum(-1) + 1e-8).sqrt().mean()
    return 1 - (step + spread) / 2


class TemporalPromptContext(nn.Module):
    """[CLS] tokens of the frames (B, T, W) -> a temporal context per frame (B, T, W): attention over time in a
    small bottleneck space (a few hundred thousand parameters per block, keeping EZ-CLIP's learnable part
    small); the up-projection starts at zero, so prompts start as plain learned tokens."""

    def __init__(self, width: int, max_frames: int = 32, dim: int = 64):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.down = nn.Linear(width, dim)
        self.pos = nn.Parameter(torch.randn(1, max_frames, dim) * 0.02)
        self.attn = nn.MultiheadAttention(dim, max(1, dim // 32), batch_first=True)
        self.up = nn.Linear(dim, width)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, cls):
        q = self.down(self.norm(cls)) + self.pos[:, :cls.shape[1]]
        return self.up(self.attn(q, q, q, need_weights=False)[0])


class EZCLIP(VideoTextModel):
    method = "ezclip"

    def __init__(self, visual, text, *, num_prompts: int = 8, adapter_ratio: float = 0.25,
                 motion_weight: float = 0.1, max_frames: int = 32, **kw):
        super().__init__(visual, text, **kw)
        freeze(self.visual)
        freeze(self.text)
        w, n = visual.width, len(visual.layers)
        self.num_prompts, self.motion_weight = int(num_prompts), float(motion_weight)
        if max_frames < self.default_frames:
            max_frames = self.default_frames
        self.prompts = nn.Parameter(torch.randn(n, max_frames, num_prompts, w) * 0.02)
        self.prompt_context = nn.ModuleList(TemporalPromptContext(w, max_frames) for _ in range(n))
        self.adapters = nn.ModuleList(Adapter(w, adapter_ratio) for _ in range(n))

    def prompted_block(self, i: int, x: torch.Tensor, b: int, t: int) -> torch.Tensor:
        if t > self.prompts.shape[1]:
            raise ValueError(f"EZ-CLIP was built for at most {self.prompts.shape[1]} frames, got {t}")
        length, w = x.shape[1], x.shape[2]
        ctx = self.prompt_context[i](x[:, 0].reshape(b, t, w))  # (B, T, W)
        p = self.prompts[i, :t].unsqueeze(0) + ctx.unsqueeze(2)  # (B, T, P, W)
        h = torch.cat([x, p.reshape(b * t, self.num_prompts, w)], 1)
        h = h + self.adapters[i](self.visual.attn(i, h))
        h = h + self.visual.mlp(i, h)
        return h[:, :length]

    def adapted_block(self, i: int, x: torch.Tensor) -> torch.Tensor:
        x = x + self.adapters[i](self.visual.attn(i, x))
        return x + self.visual.mlp(i, x)

    def frame_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[0], x.shape[2]
        h = self.visual.embed(self.frames(x))
        for i in range(len(self.visual.layers)):
            h = self.prompted_block(i, h, b, t)
        return self.visual.head(h[:, 0]).view(b, t, -1)

    def encode_video(self, x):
        frames = self.frame_embeddings(x)
        if self.training and self.motion_weight:
            self._aux = self.motion_weight * motion_loss(frames)
        return frames.mean(1)


class EZCLIPDisentangle(EZCLIP):
    """Appendix C: coarse and fine branches in the last two blocks, the fine residual added into the coarse one."""

    method = "ezclip_disentangle"

    def __init__(self, visual, text, *, branch_layers: int = 2, **kw):
        super().__init__(visual, text, **kw)
        n = len(visual.layers)
        if not 1 <= branch_layers < n:
            raise ValueError(f"branch_layers must be in [1, {n - 1}]")
        self.branch_start = n - branch_layers
        # the fine branch: trainable copies of the last blocks and of the projection
        self.fine_layers = copy.deepcopy(visual.layers[self.branch_start:]).requires_grad_(True)
        self.fine_proj = copy.deepcopy(visual.proj).requires_grad_(True)
        self.last_fine_embedding: torch.Tensor | None = None

    def _fine_block(self, j: int, x):
        layer = self.fine_layers[j]
        x = x + layer.self_attn(hidden_states=layer.layer_norm1(x))[0]
        return x + layer.mlp(layer.layer_norm2(x))

    def frame_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[0], x.shape[2]
        h = self.visual.embed(self.frames(x))
        for i in range(self.branch_start):
            h = self.prompted_block(i, h, b, t)
        coarse, fine = h, h
        for j, i in enumerate(range(self.branch_start, len(self.visual.layers))):  # no temporal prompts here
            fine = self._fine_block(j, fine)
            coarse = self.adapted_block(i, coarse) + fine
        self.last_fine_embedding = self.fine_proj(self.visual.post_layernorm(fine[:, 0])).view(b, t, -1).mean(1)
        return self.visual.head(coarse[:, 0]).view(b, t, -1)


def _tiny(cls, class_texts, pretrained, train_text, frames, **kw):
    kw.setdefault("num_prompts", 4)
    return build(cls, size="tiny", pretrained=pretrained, text="minilm", train_text=train_text, frames=frames,
                 class_texts=class_texts, **kw)


@register_video_text(paper=PAPER, default_frames=8, default_size=64, cpu_sized=True, text="minilm")
def ezclip_minilm_tiny(num_classes=None, class_texts=None, pretrained=None, train_text=0, frames=8, **kw):
    """EZ-CLIP at CPU size: frozen tiny ViT (random unless pretrained=) with temporal prompts, adapters, motion loss."""
    return _tiny(EZCLIP, class_texts, pretrained, train_text, frames, **kw)


@register_video_text(paper=PAPER, default_frames=8, default_size=224, cpu_sized=False, text="clip")
def ezclip_b16(num_classes=None, class_texts=None, pretrained=None, frames=8, **kw):
    """EZ-CLIP ViT-B/16 (8 frames, 8 prompts per frame and block): CLIP frozen; needs CLIP weights."""
    return build(EZCLIP, size="b16", pretrained=pretrained, text="clip", train_text=False, frames=frames,
                 class_texts=class_texts, **kw)


@register_video_text(paper="Punching Bag vs. Punching Person, appendix C (coarse/fine disentanglement on EZ-CLIP)",
                     default_frames=8, default_size=64, cpu_sized=True, text="minilm")
def ezclip_disentangle_minilm_tiny(num_classes=None, class_texts=None, pretrained=None, train_text=0, frames=8, **kw):
    """EZ-CLIP with coarse/fine branches in the last two blocks (appendix C), CPU size."""
    return _tiny(EZCLIPDisentangle, class_texts, pretrained, train_text, frames, **kw)


@register_video_text(paper="Punching Bag vs. Punching Person, appendix C (coarse/fine disentanglement on EZ-CLIP)",
                     default_frames=8, default_size=224, cpu_sized=False, text="clip")
def ezclip_disentangle_b16(num_classes=None, class_texts=None, pretrained=None, frames=8, **kw):
    """EZ-CLIP ViT-B/16 with coarse/fine branches in the last two blocks (appendix C); needs CLIP weights."""
    return build(EZCLIPDisentangle, size="b16", pretrained=pretrained, text="clip", train_text=False, frames=frames,
                 class_texts=class_texts, **kw)
