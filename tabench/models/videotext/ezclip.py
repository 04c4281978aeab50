"""EZ-CLIP (Ahmad, Chanda & Rawat, "EZ-CLIP: Efficient Zero-Shot Video Action Recognition", TMLR 2025), as its
official code (github.com/Shahzadnit/EZ-CLIP, `clip/model.py`, `utils/KLLoss.py`, `train.py`) builds and trains
it with the K-400 config (`prompt.use: True`, `DEEP: True`, `T_Adapter: False`, `use_motion_loss: True`):

* CLIP stays frozen, image and text encoders, logit scale included; what learns is every parameter named
  "prompt" or "Adapter" there (here `temporal_prompts` and `adapters`/`text_adapters`): 5.20M for ViT-B/16.
* **Temporal visual prompts**, one learnable token per frame per layer (`temporal_prompts`, (layers, frames,
  width), uniform in +-sqrt(6 / (3*16*16 + width)), dropout 0.1). In block i the token of frame t is
  P[i, t] + the mean of that frame's input tokens; the T tokens of a video go through the block's *own* frozen
  ln_1 + attention, across frames (the only path between frames, no residual), and each result joins its frame as
  one extra token for the block's spatial attention; it is dropped before the adapter and MLP (`block`).
* **Adapters**: Linear(D, D/4) - GELU - Linear(D/4, D) with a skip (its last layer zero-initialised, as the
  official `init_adapter`), after the attention residual and before the MLP, in every block of both encoders
  (768->192 visual, 512->128 text).
* Stochastic depth 0 -> 0.1 over the blocks (`network.drop_out: 0.1`), on attention, prompt attention and MLP.
* Video embedding: each frame's [CLS] -> ln_post -> proj, averaged over time (`encode_video`; the per-frame
  embeddings are `frame_embeddings`).
* **Loss** (`auxiliary_loss(targets)`, no cross-entropy: `uses_cross_entropy = False`): ActionCLIP's KL loss
  between the videos and their classes' texts, both directions, averaged, + 1.0 x the motion loss
  1 / (C + V + 1) on the raw per-frame embeddings (C: mean absolute central difference over time with replicated
  ends, halved; V: mean temporal variance).
* Class text: with `use_llm: True` (the config) each class is one GPT description fed as is, so the default
  template is "{}" (the class text itself); several templates are scored as the official test.py does, by
  averaging per-template softmax scores (`template_scoring = "softmax"`).

Public interface other methods build on (e.g. the coarse/fine disentanglement): `block(i, x, b, t, prompt=True)`
is visual block i with adapter (and temporal prompt unless `prompt=False`) on tokens (B*T, L, W);
`frame_embeddings(x)` -> (B, T, D); `encode_video(x)` -> (B, D); `temporal_prompts`, `adapters`,
`text_adapters`, `drop_paths`.

CPU size (`ezclip_minilm_tiny`): the same visual code on a tiny ViT; the text tower is the frozen, cached MiniLM,
which has no adapters; its learned projection into the video space is the trainable text part instead.
The paper's appendix C variant (coarse/fine branches in the last two blocks) is `ezclip_*_disentangle`, built by
the generic wrapper in `tabench.models.disentangle`.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from tabench import TabenchError
from tabench.models.videotext._register import build, register_video_text
from tabench.models.videotext.core import (CLIPText, Adapter, DropPath, VideoTextModel, _linspace, freeze,
                                           kl_video_text_loss)

PAPER = "Ahmad, Chanda & Rawat, EZ-CLIP: Efficient Zero-Shot Video Action Recognition (TMLR 2025)"


def motion_loss(frames: torch.Tensor) -> torch.Tensor:
    """EZ-CLIP's motion loss on per-frame embeddings (B, T, D): 1 / (C + V + 1), C the mean absolute central
    difference over time (ends replicated) / 2, V the mean over samples and channels of the variance over time.
    It falls as the embeddings change more across frames."""
    prev = torch.cat([frames[:, :1], frames[:, :-1]], 1)
    nxt = torch.cat([frames[:, 1:], frames[:, -1:]], 1)
    c = ((nxt - prev).abs() / 2).mean()
    v = frames.var(dim=1).mean() if frames.shape[1] > 1 else frames.new_zeros(())
    return 1 / (c + v + 1)


class EZCLIP(VideoTextModel):
    method = "ezclip"
    uses_cross_entropy = False
    template_scoring = "softmax"

    def __init__(self, visual, text, *, adapter_ratio: float = 0.25, motion_weight: float = 1.0,
                 kl_weight: float = 1.0, prompt_dropout: float = 0.1, drop_path: float = 0.1,
                 text_adapters: bool = True, **kw):
        kw.setdefault("templates", ("{}",))
        kw.setdefault("train_templates", "random")
        kw["learn_scale"] = False
        super().__init__(visual, text, **kw)
        freeze(self.visual)
        freeze(self.text)
        n, w = len(visual.layers), visual.width
        self.motion_weight, self.kl_weight = float(motion_weight), float(kl_weight)
        bound = math.sqrt(6.0 / (3 * 16 * 16 + w))
        self.temporal_prompts = nn.Parameter(torch.empty(n, self.default_frames, w).uniform_(-bound, bound))
        self.prompt_dropout = nn.Dropout(prompt_dropout)
        self.drop_paths = nn.ModuleList(DropPath(r) for r in _linspace(drop_path, n))
        self.adapters = nn.ModuleList(Adapter(w, adapter_ratio) for _ in range(n))
        # the text adapters live in the text layers (text.text_model.encoder.layers.i.adapter); a tuple keeps this
        # handle out of the module tree, so their parameters are not registered twice
        self.text_adapters = (tuple(self.text.add_adapters(adapter_ratio, drop_path))
                              if text_adapters and isinstance(self.text, CLIPText) else ())

    def block(self, i: int, x: torch.Tensor, b: int, t: int, prompt: bool = True) -> torch.Tensor:
        """Visual block i on tokens (B*T, L, W): temporal prompt (unless prompt=False), attention, adapter, MLP."""
        vis, drop = self.visual, self.drop_paths[i]
        length, w = x.shape[1], x.shape[2]
        h = x
        if prompt:
            if t > self.temporal_prompts.shape[1]:
                raise TabenchError(f"EZ-CLIP was built for {self.temporal_prompts.shape[1]} frames (one temporal "
                                   f"prompt per frame), got {t}; build it with frames={t}")
            p = self.prompt_dropout(self.temporal_prompts[i, :t]) + x.view(b, t, length, w).mean(2)  # (B, T, W)
            p = drop(vis.attn(i, p))  # the block's own ln_1 + attention, across the T frames of each video
            h = torch.cat([x, p.reshape(b * t, 1, w)], 1)
        h = h + drop(vis.attn(i, h))
        h = self.adapters[i](h[:, :length])
        return h + drop(vis.mlp(i, h))

    def frame_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) -> per-frame embeddings (B, T, D) (ln_post + proj of each frame's [CLS])."""
        b, t = x.shape[0], x.shape[2]
        h = self.visual.embed(self.frames(x))
        for i in range(len(self.visual.layers)):
            h = self.block(i, h, b, t)
        return self.visual.head(h[:, 0]).view(b, t, -1)

    def encode_video(self, x):
        frames = self.frame_embeddings(x)
        if self.training and self.motion_weight:
            self._aux = self.motion_weight * motion_loss(frames.float())
        return frames.mean(1)

    def auxiliary_loss(self, targets: torch.Tensor | None = None) -> torch.Tensor:
        """EZ-CLIP's training loss for the last forward: KL video-text loss + motion loss (needs the labels)."""
        if not self.training:
            return self.logit_scale.new_zeros(())
        if targets is None:
            raise TabenchError(f"{self.method}'s loss needs the batch labels: call model.auxiliary_loss(targets)")
        video, text = self._last
        targets = targets.to(video.device)
        scale = self.logit_scale.clamp(max=math.log(100.0)).exp()
        loss = self.kl_weight * kl_video_text_loss(video.float(), text.float()[targets], targets, scale)
        return loss if self._aux is None else loss + self._aux


def _tiny(cls, class_texts, pretrained, train_text, frames, **kw):
    return build(cls, size="tiny", pretrained=pretrained, text="minilm", train_text=train_text, frames=frames,
                 class_texts=class_texts, **kw)


@register_video_text(paper=PAPER, default_frames=8, default_size=64, cpu_sized=True, text="minilm")
def ezclip_minilm_tiny(num_classes=None, class_texts=None, pretrained=None, train_text=0, frames=8, **kw):
    """EZ-CLIP at CPU size: frozen tiny ViT (random unless pretrained=) with temporal prompts, adapters, motion loss."""
    return _tiny(EZCLIP, class_texts, pretrained, train_text, frames, **kw)


@register_video_text(paper=PAPER, default_frames=8, default_size=224, cpu_sized=False, text="clip")
def ezclip_b16(num_classes=None, class_texts=None, pretrained=None, frames=8, **kw):
    """EZ-CLIP ViT-B/16 (8 frames, one temporal prompt per frame and block, adapters in both encoders, 5.2M trained)."""
    return build(EZCLIP, size="b16", pretrained=pretrained, text="clip", train_text=False, frames=frames,
                 class_texts=class_texts, **kw)
