"""Reversible MViT (Mangalam et al. 2022), Rev-MViT-B 16x4 as in PySlowFast's REV_MVIT_B_16x4_CONV.yaml.

Two residual streams: each reversible block computes Y1 = X1 + F(X2) (pooling attention), Y2 = X2 + G(Y1) (MLP);
stage-transition blocks (layers 1, 3, 14) average the two streams, pool the query and grow the channels. Written
here because no installable library has it; names follow PySlowFast's `reversible_mvit.py`
(`rev_backbone.layers.N.F/G`), so its checkpoints load with `--weights`.

Reversible back-propagation (PySlowFast's `RevBackProp`, the point of the architecture): in training, each run
of consecutive reversible blocks is one autograd function that keeps only the run's output streams. Its backward
walks the blocks in reverse, rebuilding each block's inputs from its outputs (X2 = Y2 - G(Y1), X1 = Y1 - F(X2)) and
recomputing F and G locally for their gradients, so activation memory no longer grows with depth inside a stage
(benchmarks/README.md, "Rev-MViT activation memory"). Written as a `torch.autograd.Function` that takes the blocks'
parameters as inputs and returns their gradients (not PySlowFast's backward-inside-backward), so DDP's gradient
hooks see them like any other; drop-path masks are replayed by restoring the RNG state each sub-block saw, and the
recomputation runs under the forward's autocast state. `reversible_backprop=False` (or eval / no_grad) uses plain
autograd: same gradients (tests/test_zoo.py), no memory saving."""
from __future__ import annotations

import contextlib
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from tabench.models._base import DropPath, Mlp, VideoClassifier
from tabench.models._registry import register_model
from tabench.models.mvitv2 import (MultiScaleAttention, PatchEmbed, TransformerHead, attention_pool,
                                   init_mvit_weights, linspace, round_width, stage_schedule)

REV_MVIT_B = dict(depth=16, embed_dim=96, num_heads=1, dim_mul=[[1, 2.0], [3, 2.0], [14, 2.0]],
                  head_mul=[[1, 2.0], [3, 2.0], [14, 2.0]], pool_q_stride=[[1, 1, 2, 2], [3, 1, 2, 2], [14, 1, 2, 2]],
                  pool_kvq_kernel=(3, 3, 3), pool_kv_stride_adaptive=(1, 8, 8), buffer_layers=(1, 3, 14))


class AttentionSubBlock(nn.Module):
    """F: pre-LayerNorm pooling attention. `thw` is set by the backbone before each forward."""

    def __init__(self, dim, dim_out, input_size, num_heads, qkv_bias, kernel_q, kernel_kv, stride_q, stride_kv,
                 norm_layer):
        super().__init__()
        self.norm = norm_layer(dim)
        self.thw = list(input_size)
        self.attn = MultiScaleAttention(dim, dim_out, input_size, num_heads, qkv_bias, kernel_q, kernel_kv, stride_q,
                                        stride_kv, norm_layer, has_cls_embed=False)

    def forward(self, x):
        return self.attn(self.norm(x), self.thw)[0]


class MLPSubblock(nn.Module):
    """G: pre-LayerNorm MLP."""

    def __init__(self, dim, mlp_ratio, norm_layer):
        super().__init__()
        self.norm = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        return self.mlp(self.norm(x))


class ReversibleBlock(nn.Module):
    def __init__(self, dim, drop_path, mlp_ratio, norm_layer, **attn_kw):
        super().__init__()
        self.F = AttentionSubBlock(dim, dim, norm_layer=norm_layer, **attn_kw)
        self.G = MLPSubblock(dim, mlp_ratio, norm_layer)
        self.drop_path = DropPath(drop_path)

    def forward(self, x1, x2):
        y1 = x1 + self.drop_path(self.F(x2))
        y2 = x2 + self.drop_path(self.G(y1))
        return y1, y2


def _rng_state(device: torch.device):
    return torch.get_rng_state(), (torch.cuda.get_rng_state(device) if device.type == "cuda" else None)


@contextlib.contextmanager
def _replay_rng(state, device: torch.device):
    """Run with the RNG state a sub-block saw in the forward (its drop-path mask), leaving the global RNG as it was."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else [], device_type=device.type):
        torch.set_rng_state(state[0])
        if state[1] is not None:
            torch.cuda.set_rng_state(state[1], device)
        yield


class _ReversibleRun(torch.autograd.Function):
    """Consecutive ReversibleBlocks whose backward recomputes activations instead of storing them."""

    @staticmethod
    def forward(ctx, x1, x2, blocks, *params):
        device = x1.device
        ctx.blocks, ctx.thws, ctx.rng = blocks, [list(b.F.thw) for b in blocks], []
        ctx.autocast = (device.type, torch.is_autocast_enabled(device.type), torch.get_autocast_dtype(device.type))
        for b in blocks:  # grad mode is off inside forward: nothing is kept but the run's outputs
            state_f = _rng_state(device)
            x1 = x1 + b.drop_path(b.F(x2))
            state_g = _rng_state(device)
            x2 = x2 + b.drop_path(b.G(x1))
            ctx.rng.append((state_f, state_g))
        ctx.save_for_backward(x1, x2)
        return x1, x2

    @staticmethod
    def backward(ctx, dy1, dy2):
        y1, y2 = (t.detach() for t in ctx.saved_tensors)
        device_type, ac_on, ac_dtype = ctx.autocast
        grads = {}

        def recompute(fn, drop_path, x, state, grad_out):
            """One half-block again, with grad, under the forward's autocast and drop-path mask: its output and
            the gradients of `grad_out` w.r.t. its input and its trainable parameters."""
            params = [p for p in fn.parameters() if p.requires_grad]
            with torch.enable_grad(), torch.autocast(device_type, dtype=ac_dtype, enabled=ac_on):
                x = x.requires_grad_(True)
                with _replay_rng(state, x.device):
                    out = drop_path(fn(x))
                dx, *dparams = torch.autograd.grad(out, [x, *params], grad_out, allow_unused=True)
            grads.update(zip(params, dparams))
            return out.detach(), dx

        for b, thw, (state_f, state_g) in zip(reversed(ctx.blocks), reversed(ctx.thws), reversed(ctx.rng)):
            b.F.thw = thw
            g, dg = recompute(b.G, b.drop_path, y1, state_g, dy2)  # y2 = x2 + G(y1)
            with torch.no_grad():
                x2, dy1 = y2 - g, dy1 + dg
            f, df = recompute(b.F, b.drop_path, x2, state_f, dy1)  # y1 = x1 + F(x2)
            with torch.no_grad():
                x1, dy2 = y1 - f, dy2 + df
            y1, y2 = x1, x2
            del g, f
        params = [p for blk in ctx.blocks for p in blk.parameters() if p.requires_grad]
        return (dy1, dy2, None, *[grads.get(p) for p in params])


class StageTransitionBlock(nn.Module):
    """Non-reversible block at stage changes: fuse streams (avg), pool the residual with the query conv, widen."""

    def __init__(self, dim, dim_out, drop_path, mlp_ratio, norm_layer, **attn_kw):
        super().__init__()
        self.F = AttentionSubBlock(dim, dim_out, norm_layer=norm_layer, **attn_kw)
        self.G = MLPSubblock(dim_out, mlp_ratio, norm_layer)
        if dim != dim_out:
            self.res_proj = nn.Linear(dim, dim_out, bias=True)
        self.drop_path = DropPath(drop_path)

    def forward(self, x):
        x = torch.stack(torch.chunk(x, 2, dim=2)).mean(0)  # pre-Q fusion "avg" of the two streams
        x_res = self.res_proj(x) if hasattr(self, "res_proj") else x
        b, n, c = x_res.shape
        heads = self.F.attn.num_heads
        x_res = x_res.reshape(b, n, heads, c // heads).permute(0, 2, 1, 3)
        x_res, _ = attention_pool(x_res, self.F.attn.pool_q, self.F.thw, False, self.F.attn.norm_q)
        x_res = x_res.permute(0, 2, 1, 3).reshape(b, x_res.shape[2], c)
        x = x_res + self.F(x)
        x = x + self.G(x)
        return self.drop_path(x)


class ReversibleMViTBackbone(nn.Module):
    def __init__(self, input_size, depth, embed_dim, num_heads, dim_mul, head_mul, pool_q_stride, pool_kvq_kernel,
                 pool_kv_stride_adaptive, buffer_layers, mlp_ratio, qkv_bias, drop_path_rate, norm_layer,
                 reversible_backprop=True):
        super().__init__()
        self.reversible_backprop = reversible_backprop
        dmul, hmul, pool_q, pool_kv, stride_q, stride_kv = stage_schedule(
            depth, dim_mul, head_mul, pool_q_stride, pool_kvq_kernel, pool_kv_stride_adaptive)
        self.stride_q = stride_q
        dpr = linspace(0.0, drop_path_rate, depth)
        self.layers = nn.ModuleList()
        for i in range(depth):
            num_heads = round_width(num_heads, hmul[i])
            embed_dim = round_width(embed_dim, dmul[i - 1] if i > 0 else 1.0, divisor=num_heads)
            dim_out = round_width(embed_dim, dmul[i], divisor=round_width(num_heads, hmul[i + 1]))
            kw = dict(input_size=input_size, num_heads=num_heads, qkv_bias=qkv_bias, kernel_q=pool_q[i],
                      kernel_kv=pool_kv[i], stride_q=stride_q[i], stride_kv=stride_kv[i])
            if i in buffer_layers:
                self.layers.append(StageTransitionBlock(embed_dim, dim_out, dpr[i], mlp_ratio, norm_layer, **kw))
            else:
                self.layers.append(ReversibleBlock(embed_dim, dpr[i], mlp_ratio, norm_layer, **kw))
            if stride_q[i]:
                input_size = [s // st for s, st in zip(input_size, stride_q[i])]
        self.out_dim = dim_out

    def forward(self, x, thw):
        reversible = self.reversible_backprop and self.training and torch.is_grad_enabled()
        two_stream, run = False, []

        def flush(x):  # apply the pending run of reversible blocks
            x1, x2 = torch.chunk(x, 2, dim=-1) if two_stream else (x, x)
            if reversible:
                params = [p for blk in run for p in blk.parameters() if p.requires_grad]
                x1, x2 = _ReversibleRun.apply(x1, x2, tuple(run), *params)
            else:
                for blk in run:
                    x1, x2 = blk(x1, x2)
            run.clear()
            return torch.cat([x1, x2], dim=-1)

        for i, layer in enumerate(self.layers):
            layer.F.thw = list(thw)  # the actual token grid, so any input size works
            if self.stride_q[i]:  # the 3x3x3 / stride-s conv with padding 1 gives floor((n-1)/s)+1
                thw = [(n - 1) // s + 1 for n, s in zip(thw, self.stride_q[i])]
            if isinstance(layer, StageTransitionBlock):
                if run:
                    x, two_stream = flush(x), True
                x = layer(x if two_stream else torch.cat([x, x], -1))
                two_stream = False
            else:
                run.append(layer)
        if run:
            x, two_stream = flush(x), True
        return x if two_stream else torch.cat([x, x], -1)


class RevMViT(VideoClassifier):
    classifier_name = "head.projection"

    def __init__(self, num_classes=400, frames=16, size=224, depth=16, embed_dim=96, num_heads=1,
                 dim_mul=REV_MVIT_B["dim_mul"], head_mul=REV_MVIT_B["head_mul"],
                 pool_q_stride=REV_MVIT_B["pool_q_stride"], pool_kvq_kernel=(3, 3, 3),
                 pool_kv_stride_adaptive=(1, 8, 8), buffer_layers=(1, 3, 14), mlp_ratio=4.0, qkv_bias=False,
                 drop_path_rate=0.05, dropout=0.5, patch_kernel=(3, 7, 7), patch_stride=(2, 4, 4),
                 patch_padding=(1, 3, 3), reversible_backprop=True):
        super().__init__()
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.default_frames, self.default_size = frames, size
        self.patch_embed = PatchEmbed(3, embed_dim, patch_kernel, patch_stride, patch_padding)
        self.patch_dims = [frames // patch_stride[0], size // patch_stride[1], size // patch_stride[2]]
        t, h, w = self.patch_dims
        # separate absolute position embeddings (SEP_POS_EMBED), no cls token
        self.pos_embed_spatial = nn.Parameter(torch.zeros(1, h * w, embed_dim))
        self.pos_embed_temporal = nn.Parameter(torch.zeros(1, t, embed_dim))
        nn.init.trunc_normal_(self.pos_embed_spatial, std=0.02)
        nn.init.trunc_normal_(self.pos_embed_temporal, std=0.02)
        self.rev_backbone = ReversibleMViTBackbone(
            self.patch_dims, depth, embed_dim, num_heads, dim_mul, head_mul, pool_q_stride, pool_kvq_kernel,
            pool_kv_stride_adaptive, buffer_layers, mlp_ratio, qkv_bias, drop_path_rate, norm_layer,
            reversible_backprop)
        out = self.rev_backbone.out_dim
        self.norm = norm_layer(2 * out)  # RESPATH_FUSE "concat": both streams are kept
        self.head = TransformerHead(2 * out, num_classes, dropout)
        self.apply(init_mvit_weights)

    def _pos_embed(self, thw):
        t, h, w = self.patch_dims
        pos = self.pos_embed_spatial.repeat(1, t, 1) + torch.repeat_interleave(self.pos_embed_temporal, h * w, dim=1)
        if list(thw) != [t, h, w]:
            pos = pos.reshape(1, t, h, w, -1).permute(0, 4, 1, 2, 3)
            pos = F.interpolate(pos, size=tuple(thw), mode="trilinear").flatten(2).transpose(1, 2)
        return pos

    def forward(self, x):
        self.check_input(x)
        x, thw = self.patch_embed(x)
        x = x + self._pos_embed(thw)
        x = self.rev_backbone(x, thw)
        return self.head(self.norm(x).mean(1))


@register_model(family="reversible multiscale transformer",
                paper="Mangalam et al., Reversible Vision Transformers (CVPR 2022)",
                default_frames=16, default_size=224, cpu_frames=8, cpu_size=112, sampling="dense", frame_interval=4,
                pretrained="Kinetics-400 (PySlowFast)",
                param_ref="34.9M (PySlowFast projects/rev README, Rev-MViT-B 16x4, K400)")
def rev_mvit_b(num_classes: int = 400, frames: int = 16, size: int = 224, drop_path_rate: float = 0.05,
               dropout: float = 0.5, reversible_backprop: bool = True) -> nn.Module:
    """Rev-MViT-B 16x4: reversible two-stream MViT (buffer/stage-transition layers 1, 3, 14)."""
    return RevMViT(num_classes, frames, size, drop_path_rate=drop_path_rate, dropout=dropout,
                   reversible_backprop=reversible_backprop)
