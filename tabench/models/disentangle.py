"""The paper's coarse/fine disentanglement (Sec. 3.5, appendix C) as a wrapper around any supported backbone.

    model = disentangle(create_model("rgbdiff_tiny", 20), blocks=2, fine_weight=1.0)
    model.set_fine_classes(taxonomy.labels(train_set, "fine"))   # the training set's fine label space
    tabench benchmark --model rgbdiff_tiny --disentangle ...     # or: --model rgbdiff_tiny_disentangle
    config: disentangle: {blocks: 2, fine_weight: 1.0}

The backbone is cut before its last N blocks (transformers: the last N blocks, default 2 as in appendix C; CNNs:
by default the blocks of the last stage). Those blocks are duplicated into a coarse branch (the original modules)
and a fine branch (deep copies, so both start from the original weights):

    h = trunk(x);  c = f = h
    for each duplicated block k:   f = fine_k(f);   c = coarse_k(c) + f       # the fine residual into coarse
    coarse output = head(c, coarse projection);   fine output = head(f, fine projection)

`head` is the backbone's own shared part after the blocks (its final norm and pooling, shared by both branches)
followed by a projection: the classifier for unimodal models (the fine one is a new linear layer over the
training set's fine classes), the projection into the video-text space for video-text models (the fine one a
trainable copy of the coarse one; its logits are against the fine captions, through the same text tower and
text projection).

Training: the coarse output gets the model's usual loss on the coarse labels (the training loop's cross-entropy,
or a video-text method's own loss); the fine output gets the same kind of loss on the fine labels (fine captions)
of the same training videos, times `fine_weight`, through `auxiliary_loss`. The training loop hands the batch's
fine labels over with `set_fine_targets` before each forward. Evaluation uses only the coarse output (the fine
branch still runs, because the coarse branch adds its features); `output = "fine"` makes forward return the fine
logits, which the protocol runner uses to record the fine branch's known-context fine accuracy.

Choices where the paper is silent (see ../shared/notes/methods.md, section 2):
* The fine copies keep the original's trainability: a fully trained backbone's copies train; in EZ-CLIP only the
  copied adapters train and the copied CLIP weights stay frozen (EZ-CLIP's parameter budget), while the fine
  projection is trainable (appendix C says so) and initialised from the frozen coarse one.
* The residual adds the fine block's output to the coarse block's output (c = B_c(c) + B_f(f)), not detached:
  the coarse loss also trains the fine branch.
* EZ-CLIP: the temporal prompts are not used in the duplicated blocks (appendix C); their prompt parameters for
  those layers are frozen where they are per-layer modules (otherwise DDP would see parameters without gradients).
  The motion loss is applied to each branch's frame embeddings (the fine one's weighted by fine_weight).
* Which branch is evaluated: the coarse one on the coarse protocol, as the paper's Tab. 5 / 12 report. The fine
  level protocol is refused with --disentangle (its labels are the fine ones already).
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from tabench import TabenchError

OUTPUTS = ("coarse", "fine")


@dataclasses.dataclass
class Split:
    """How a backbone is cut: `trunk(x) -> (h, ctx)` runs everything before the duplicated blocks; `blocks` are
    the (coarse) duplicated modules, h -> h; `head(h, proj, ctx) -> (out, aux)` is the shared norm/pooling and a
    projection (`proj`: the coarse one; the fine branch passes its own), with an optional extra loss `aux`;
    `video_text`: `out` is a video embedding (logits come from the class texts), else logits."""

    trunk: Callable
    blocks: list
    head: Callable
    proj: nn.Module
    video_text: bool = False


# ------------------------------------------------------------------------------------------ the splitters
def _last(blocks: list, n: int | None, default: int, what: str) -> int:
    n = default if n is None else int(n)
    if not 1 <= n <= len(blocks):
        raise TabenchError(f"disentangle blocks must be in [1, {len(blocks)}] for {what}, got {n}")
    return n


def _split_r3d(model, n, video_text=False, proj=None, head=None):
    """R3D-tiny (and the R3D video encoder of vt_minilm_tiny): by default the last stage's blocks."""
    blocks = [b for stage in model.stages for b in stage]
    n = _last(blocks, n, len(model.stages[-1]), type(model).__name__)
    early = blocks[:-n]

    def trunk(x):
        if getattr(model, "rgb_diff", False):
            from tabench.models.r3d_tiny import rgb_difference
            x = torch.cat([x, rgb_difference(x)], dim=1)
        h = model.stem(x)
        for b in early:
            h = b(h)
        return h, None

    def pool(h):
        mode = getattr(model, "pool_mode", "avg")
        if mode == "avg":
            return h.mean((2, 3, 4))
        xm = h.amax(dim=(3, 4)).mean(2)
        return xm if mode == "max" else torch.cat([h.mean((2, 3, 4)), xm], 1)

    drop = getattr(model, "dropout", nn.Identity())
    return Split(trunk, blocks[-n:], head or (lambda h, p, ctx: (p(drop(pool(h))), None)),
                 proj if proj is not None else model.fc, video_text)


def _split_rgbdiff(model, n, video_text=False):
    """RGBDiff-tiny: the temporal conv layers are its last stage (all of them by default)."""
    blocks = list(model.temporal)
    if not blocks:
        raise TabenchError("rgbdiff_tiny with temporal_layers=0 has no block to duplicate")
    n = _last(blocks, n, len(blocks), "rgbdiff_tiny")
    early = blocks[:-n]

    def trunk(x):
        h = model.frame_tokens(x)  # (B, dim, T)
        for blk in early:
            h = blk(h)
        return h, None

    def head(h, proj, ctx):
        return proj(model.dropout(torch.cat([h.mean(2), h.amax(2)], dim=1))), None

    return Split(trunk, blocks[-n:], head, model.fc, video_text)


def _split_vivit(model, n):
    """ViViT-tiny: the last N divided space-time blocks (default 2); shared final LayerNorm."""
    blocks = list(model.blocks)
    n = _last(blocks, n, min(2, len(blocks)), "vivit_tiny")
    early = blocks[:-n]

    def trunk(x):
        model.check_input(x)
        x = model.patch_embed(x)
        b, d, t, hh, ww = x.shape
        h = x.permute(0, 2, 3, 4, 1).reshape(b, t, hh * ww, d) + model._pos(t, hh, ww)
        for blk in early:
            h = blk(h)
        return h, None

    def head(h, proj, ctx):
        return proj(model.dropout(model.norm(h.mean(dim=(1, 2))))), None

    return Split(trunk, blocks[-n:], head, model.head)


def _split_conv_video_text(model, n):
    """vt_minilm_tiny: its video encoder (RGBDiff-tiny, or R3D-tiny) cut like the unimodal model; the encoder's
    last linear layer is the projection into the video-text space."""
    from tabench.models.videotext.core import ConvVideoEncoder, DiffGridVideoEncoder

    vis = model.visual
    if isinstance(vis, DiffGridVideoEncoder):
        return _split_rgbdiff(vis.net, n, video_text=True)
    if isinstance(vis, ConvVideoEncoder):
        return _split_r3d(vis, n, video_text=True, proj=vis.proj,
                          head=lambda h, p, ctx: (p(h.mean((2, 3, 4))), None))
    raise TabenchError(f"disentangle: no split for the video encoder {type(vis).__name__}")


class EZCLIPBranchBlock(nn.Module):
    """EZ-CLIP's visual block i without its temporal prompt (appendix C disables it in the duplicated blocks):
    attention, adapter and MLP, with the method's drop-path where it has one."""

    def __init__(self, model, i: int):
        super().__init__()
        self.layer = model.visual.layers[i]
        self.adapter = model.adapters[i]
        drops = getattr(model, "drop_paths", None)
        self.drop = drops[i] if drops is not None else nn.Identity()
        # the published EZ-CLIP (attn residual, then the adapter with its own skip) or the earlier tabench variant
        # (the adapter on the attention output); follows the model it was cut from
        self.adapter_after_residual = drops is not None

    def forward(self, x):
        layer = self.layer
        a = layer.self_attn(hidden_states=layer.layer_norm1(x))[0]
        if self.adapter_after_residual:
            h = self.adapter(x + self.drop(a))
        else:
            h = x + self.adapter(a)
        return h + self.drop(layer.mlp(layer.layer_norm2(h)))


def _split_ezclip(model, n):
    """EZ-CLIP as appendix C: the last N (default 2) transformer blocks, no temporal prompt there, the [CLS] of
    each branch through the shared ln_post and its own projection; per-frame embeddings averaged over time, with
    the motion loss on each branch's frame embeddings."""
    from tabench.models.videotext.ezclip import motion_loss

    layers = len(model.visual.layers)
    n = _last(list(range(layers - 1)), n, 2, "EZ-CLIP (at least one prompted block stays shared)")
    start = layers - n
    prompted = getattr(model, "prompted_block", None)
    ctx_modules = getattr(model, "prompt_context", None)
    if ctx_modules is not None:  # per-layer prompt modules of the duplicated layers are unused: freeze them
        for i in range(start, layers):
            ctx_modules[i].requires_grad_(False)

    def trunk(x):
        b, t = x.shape[0], x.shape[2]
        h = model.visual.embed(model.frames(x))
        for i in range(start):
            h = prompted(i, h, b, t) if prompted is not None else model.block(i, h, b, t)
        return h, (b, t)

    def head(h, proj, ctx):
        b, t = ctx
        frames = proj(model.visual.post_layernorm(h[:, 0])).view(b, t, -1)
        aux = None
        if model.training and model.motion_weight:
            aux = model.motion_weight * motion_loss(frames.float())
        return frames.mean(1), aux

    return Split(trunk, [EZCLIPBranchBlock(model, i) for i in range(start, layers)], head, model.visual.proj,
                 video_text=True)


def _splitters() -> list[tuple[type, Callable]]:
    from tabench.models.r3d_tiny import R3D
    from tabench.models.rgbdiff_tiny import RGBDiffGridNet
    from tabench.models.videotext.core import ConvVideoText
    from tabench.models.videotext.ezclip import EZCLIP
    from tabench.models.vivit_tiny import ViViT

    return [(EZCLIP, _split_ezclip), (ConvVideoText, _split_conv_video_text), (RGBDiffGridNet, _split_rgbdiff),
            (R3D, _split_r3d), (ViViT, _split_vivit)]


# The registered models that get a `<model>_disentangle` name (and that --disentangle accepts).
SUPPORTED = ("rgbdiff_tiny", "r3d_tiny", "vivit_tiny", "vt_minilm_tiny", "ezclip_minilm_tiny", "ezclip_b16")
# Earlier tabench names of appendix C on EZ-CLIP: the same wrapper, so existing scripts keep working.
ALIASES = {"ezclip_disentangle_minilm_tiny": "ezclip_minilm_tiny", "ezclip_disentangle_b16": "ezclip_b16"}


def split_model(model: nn.Module, blocks: int | None) -> Split:
    for cls, fn in _splitters():
        if isinstance(model, cls):
            return fn(model, blocks)
    raise TabenchError(f"disentangle: no coarse/fine split is defined for {type(model).__name__}; "
                       f"supported models: {', '.join(SUPPORTED)}")


# ---------------------------------------------------------------------------------------------- the wrapper
class Disentangled(nn.Module):
    """A backbone with coarse and fine branches in its last blocks (see the module docstring). Attributes it does
    not define (default_frames, set_class_texts, class_texts, ...) are the backbone's."""

    def __init__(self, base: nn.Module, blocks: int | None = None, fine_weight: float = 1.0):
        super().__init__()
        if fine_weight is None or float(fine_weight) < 0:
            raise TabenchError(f"disentangle fine_weight must be >= 0, got {fine_weight}")
        self.base = base
        split = split_model(base, blocks)
        self._split_cache = (id(base), split)
        self.num_blocks, self.fine_weight = len(split.blocks), float(fine_weight)
        self.fine_blocks = nn.ModuleList(copy.deepcopy(b) for b in split.blocks)
        self.is_video_text = split.video_text
        # video-text: a trainable copy of the projection into the joint space; unimodal: set_fine_classes makes it
        self.fine_head = copy.deepcopy(split.proj).requires_grad_(True) if split.video_text else None
        self.fine_classes: list[str] | None = None
        self.output = "coarse"
        self._fine_targets: torch.Tensor | None = None
        self._fine_out = None
        self._fine_text_cache: torch.Tensor | None = None

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            modules = self.__dict__.get("_modules", {})
            if "base" in modules and not name.startswith("__"):
                return getattr(modules["base"], name)
            raise

    @property
    def _split(self) -> tuple[Split]:
        """The cut of the current backbone (its closures and coarse blocks live in `base`, so it is not a module;
        it is rebuilt after a copy of the model or a new classifier)."""
        key, split = self.__dict__["_split_cache"]
        if key != id(self.base):
            split = split_model(self.base, self.num_blocks)
            self.__dict__["_split_cache"] = (id(self.base), split)
        return (split,)

    @property
    def settings(self) -> dict:
        return {"blocks": self.num_blocks, "fine_weight": self.fine_weight}

    # ----- the fine label space
    def set_fine_classes(self, names) -> None:
        """The fine classes (names, which are also the captions) the fine branch is trained on."""
        names = [str(n) for n in names]
        if not names:
            raise TabenchError("the fine branch needs at least one fine class")
        if names == self.fine_classes:
            return
        self.fine_classes, self._fine_text_cache = names, None
        if not self.is_video_text:
            proj = self._split[0].proj
            if self.fine_head is None or self.fine_head.out_features != len(names):
                head = nn.Linear(proj.in_features, len(names), bias=proj.bias is not None)
                head.to(device=proj.weight.device, dtype=proj.weight.dtype)
                nn.init.normal_(head.weight, std=0.01)
                if head.bias is not None:
                    nn.init.zeros_(head.bias)
                self.fine_head = head

    def set_fine_targets(self, targets: torch.Tensor | None) -> None:
        """The fine labels (ids in the training set's fine label space) of the next training batch."""
        self._fine_targets = targets

    def _fine_text(self) -> torch.Tensor:
        """(K_fine, D) normalised embeddings of the fine captions, through the backbone's text tower/projection."""
        base = self.base
        if base.text.trainable:
            feats = base._encode_prompts(self.fine_classes, base.templates)
        else:
            if self._fine_text_cache is None:
                with torch.no_grad():
                    self._fine_text_cache = base._encode_prompts(self.fine_classes, base.templates)
            feats = self._fine_text_cache
        return F.normalize(base.text_proj(feats.mean(1).to(base.logit_scale.device)), dim=-1)

    # ----- forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        split = self._split[0]
        h, ctx = split.trunk(x)
        c = f = h
        for coarse_block, fine_block in zip(split.blocks, self.fine_blocks):
            f = fine_block(f)
            c = coarse_block(c) + f
        self._fine_out = None
        # Until set_fine_classes is called there is no fine label space and so no fine loss (the training loop
        # always calls it); asking for fine outputs or giving fine labels without one is an error.
        want_fine = self.output == "fine" or (self.training and self.fine_weight > 0
                                              and (self.fine_classes is not None or self._fine_targets is not None))
        if want_fine:
            if self.fine_head is None or self.fine_classes is None:
                raise TabenchError("disentangled model without fine classes: call set_fine_classes([...]) first")
            self._fine_out = split.head(f, self.fine_head, ctx)
        if self.output == "fine":
            out, _ = self._fine_out
            if not self.is_video_text:
                return out
            scale = self.base.logit_scale.clamp(max=math.log(100.0)).exp()
            return scale * F.normalize(out, dim=-1) @ self._fine_text().to(out.dtype).t()
        out, aux = split.head(c, split.proj, ctx)
        if not self.is_video_text:
            self._coarse_aux = aux
            return out
        with self._encode_override(out, aux):  # the backbone's own forward from the coarse embedding on
            return self.base(x)

    @contextlib.contextmanager
    def _encode_override(self, embedding: torch.Tensor, aux):
        base = self.base

        def encode_video(_x):
            base._aux = aux
            return embedding

        base.encode_video = encode_video
        try:
            yield
        finally:
            del base.encode_video

    # ----- losses
    def _fine_loss(self) -> torch.Tensor:
        out, aux = self._fine_out
        y = self._fine_targets
        if y is None:
            raise TabenchError("the fine branch needs the batch's fine labels: call set_fine_targets(labels) before "
                               "forward (the training loop does)")
        y = y.to(out.device)
        if not self.is_video_text:
            loss = F.cross_entropy(out.float(), y)
            return loss if aux is None else loss + aux
        base = self.base
        video, text = F.normalize(out, dim=-1), self._fine_text().to(out.dtype)
        if getattr(base, "uses_cross_entropy", True):
            scale = base.logit_scale.clamp(max=math.log(100.0)).exp()
            loss = F.cross_entropy((scale * video @ text.t()).float(), y)
            return loss if aux is None else loss + aux
        # the method's own loss (e.g. EZ-CLIP's KL video-text loss + motion loss), on the fine branch
        saved = base._last, base._aux
        base._last, base._aux = (video, text), aux
        try:
            return base.auxiliary_loss(y)
        finally:
            base._last, base._aux = saved

    def auxiliary_loss(self, targets: torch.Tensor | None = None) -> torch.Tensor:
        """The backbone's own extra loss on the coarse branch + fine_weight x the fine branch's loss."""
        if self.is_video_text:
            loss = self.base.auxiliary_loss(targets)
        else:
            aux = getattr(self, "_coarse_aux", None)
            loss = aux if aux is not None else torch.zeros((), device=next(self.base.parameters()).device)
        if self.training and self.fine_weight > 0 and self._fine_out is not None:
            loss = loss + self.fine_weight * self._fine_loss()
        return loss

    def reset_classifier(self, num_classes: int) -> None:
        """A new k-way coarse classifier (the backbone's); the fine head is kept."""
        self.base.reset_classifier(num_classes)
        self.__dict__["_split_cache"] = (id(self.base), split_model(self.base, self.num_blocks))

    @property
    def num_classes(self) -> int:
        return self.base.num_classes

    @property
    def uses_cross_entropy(self) -> bool:
        return getattr(self.base, "uses_cross_entropy", True)


def disentangle(model: nn.Module, blocks: int | None = None, fine_weight: float = 1.0) -> Disentangled:
    """Wrap a built backbone into the two-branch model (both branches initialised from it)."""
    return Disentangled(model, blocks=blocks, fine_weight=fine_weight)


def register_all() -> None:
    """Register `<model>_disentangle` for every supported registered model (called once the zoo is imported)."""
    from tabench.models import _registry as reg

    for name, base in [(f"{b}_disentangle", b) for b in SUPPORTED] + list(ALIASES.items()):
        if base not in reg._BUILDERS or name in reg._BUILDERS:
            continue
        base_builder = reg._BUILDERS[base]

        def builder(num_classes=400, blocks=None, fine_weight=1.0, _base=base_builder, **kw):
            return disentangle(_base(num_classes=num_classes, **kw), blocks=blocks, fine_weight=fine_weight)

        builder.__name__ = name
        builder.__module__ = __name__
        info = reg._INFO[base]
        reg._BUILDERS[name] = builder
        reg._INFO[name] = dataclasses.replace(
            info, name=name, module=__name__,
            paper=f"Punching Bag vs. Punching Person, Sec. 3.5 / appendix C (coarse/fine disentanglement) on {base}",
            description=f"{base} with coarse/fine branches in its last blocks (tabench.models.disentangle)")


def base_name(name: str) -> str | None:
    """'rgbdiff_tiny_disentangle' -> 'rgbdiff_tiny'; None for other names."""
    if name.endswith("_disentangle") and name[: -len("_disentangle")] in SUPPORTED:
        return name[: -len("_disentangle")]
    return ALIASES.get(name)
