"""MViTv2 (Li et al. 2022): multiscale vision transformer with pooling attention, decomposed relative position
embeddings (spatial h/w and temporal) and residual pooling connections.

Written here because pytorchvideo only ships MViTv1 (`create_multiscale_vision_transformers`: absolute position
embedding, no relative positions, no residual pooling). Module and parameter names follow PySlowFast's
`slowfast/models/{video_model_builder,attention}.py`, so PySlowFast MViTv2 checkpoints ("model_state") load with
`--weights`. Relative position tables are interpolated when the input differs from the configured one, so the
same model runs at a small CPU input."""
from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from tabench.models._base import DropPath, Mlp, VideoClassifier
from tabench.models._registry import register_model


def round_width(width, multiplier, min_width=1, divisor=1):
    """PySlowFast's channel rounding after a width multiplier."""
    if not multiplier:
        return width
    width *= multiplier
    min_width = min_width or divisor
    out = max(min_width, int(width + divisor / 2) // divisor * divisor)
    if out < 0.9 * width:
        out += divisor
    return int(out)


def linspace(a: float, b: float, n: int) -> list[float]:
    """Stochastic-depth schedule in plain Python (also works when building on the meta device)."""
    return [a + (b - a) * i / max(n - 1, 1) for i in range(n)]


def attention_pool(x, pool, thw, has_cls, norm=None):
    """Pool a token sequence (B, heads, L, C) over its (T, H, W) layout; the cls token bypasses pooling."""
    if pool is None:
        return x, thw
    squeeze = x.ndim == 3
    if squeeze:
        x = x.unsqueeze(1)
    if has_cls:
        cls_tok, x = x[:, :, :1], x[:, :, 1:]
    b, n, _, c = x.shape
    t, h, w = thw
    x = pool(x.reshape(b * n, t, h, w, c).permute(0, 4, 1, 2, 3).contiguous())
    thw = list(x.shape[2:])
    x = x.reshape(b, n, c, -1).transpose(2, 3)
    if has_cls:
        x = torch.cat((cls_tok, x), dim=2)
    if norm is not None:
        x = norm(x)
    return (x.squeeze(1) if squeeze else x), thw


def _resize_rel_pos(rel_pos, d):
    if rel_pos.shape[0] == d:
        return rel_pos
    r = F.interpolate(rel_pos.reshape(1, rel_pos.shape[0], -1).permute(0, 2, 1), size=d, mode="linear")
    return r.reshape(-1, d).permute(1, 0)


def _rel_dist(q, k, device):
    q_ratio, k_ratio = max(k / q, 1.0), max(q / k, 1.0)
    d = torch.arange(q, device=device)[:, None] * q_ratio - torch.arange(k, device=device)[None, :] * k_ratio
    return (d + (k - 1) * k_ratio).long()


def add_rel_pos_spatial(attn, q, has_cls, q_shape, k_shape, rel_pos_h, rel_pos_w):
    """Decomposed spatial relative positions: attn += q . R_h + q . R_w."""
    s = 1 if has_cls else 0
    qt, qh, qw = q_shape
    kt, kh, kw = k_shape
    rh = _resize_rel_pos(rel_pos_h, 2 * max(qh, kh) - 1)[_rel_dist(qh, kh, q.device)]
    rw = _resize_rel_pos(rel_pos_w, 2 * max(qw, kw) - 1)[_rel_dist(qw, kw, q.device)]
    b, nh, _, dim = q.shape
    r_q = q[:, :, s:].reshape(b, nh, qt, qh, qw, dim)
    rel_h = torch.einsum("bythwc,hkc->bythwk", r_q, rh)
    rel_w = torch.einsum("bythwc,wkc->bythwk", r_q, rw)
    a = attn[:, :, s:, s:].view(b, -1, qt, qh, qw, kt, kh, kw)
    a = a + rel_h[:, :, :, :, :, None, :, None] + rel_w[:, :, :, :, :, None, None, :]
    attn = attn.clone()
    attn[:, :, s:, s:] = a.view(b, -1, qt * qh * qw, kt * kh * kw)
    return attn


def add_rel_pos_temporal(attn, q, has_cls, q_shape, k_shape, rel_pos_t):
    """Temporal relative positions: attn += q . R_t."""
    s = 1 if has_cls else 0
    qt, qh, qw = q_shape
    kt, kh, kw = k_shape
    rt = _resize_rel_pos(rel_pos_t, 2 * max(qt, kt) - 1)[_rel_dist(qt, kt, q.device)]
    b, nh, _, dim = q.shape
    r_q = q[:, :, s:].reshape(b, nh, qt, qh, qw, dim)
    rel = torch.einsum("bythwc,tkc->bythwk", r_q, rt)
    a = attn[:, :, s:, s:].view(b, -1, qt, qh, qw, kt, kh, kw) + rel[:, :, :, :, :, :, None, None]
    attn = attn.clone()
    attn[:, :, s:, s:] = a.view(b, -1, qt * qh * qw, kt * kh * kw)
    return attn


class MultiScaleAttention(nn.Module):
    """Pooling attention: q, k, v are pooled with depthwise 3D convs (+LayerNorm) before attending."""

    def __init__(self, dim, dim_out, input_size, num_heads, qkv_bias=False, kernel_q=(), kernel_kv=(),
                 stride_q=(), stride_kv=(), norm_layer=nn.LayerNorm, has_cls_embed=True, rel_pos_spatial=False,
                 rel_pos_temporal=False, residual_pooling=False):
        super().__init__()
        self.num_heads, self.dim_out, self.has_cls_embed = num_heads, dim_out, has_cls_embed
        head_dim = dim_out // num_heads
        self.scale = head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim_out * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim_out, dim_out)
        if kernel_q and math.prod(kernel_q) == 1 and math.prod(stride_q) == 1:
            kernel_q = ()
        if kernel_kv and math.prod(kernel_kv) == 1 and math.prod(stride_kv) == 1:
            kernel_kv = ()

        def pool(kernel, stride):
            if not kernel:
                return None, None
            conv = nn.Conv3d(head_dim, head_dim, kernel, stride=stride, padding=[k // 2 for k in kernel],
                             groups=head_dim, bias=False)
            return conv, norm_layer(head_dim)

        self.pool_q, self.norm_q = pool(kernel_q, stride_q)
        self.pool_k, self.norm_k = pool(kernel_kv, stride_kv)
        self.pool_v, self.norm_v = pool(kernel_kv, stride_kv)
        self.rel_pos_spatial, self.rel_pos_temporal = rel_pos_spatial, rel_pos_temporal
        if rel_pos_spatial:
            size = input_size[1]
            q_size = size // stride_q[1] if stride_q else size
            kv_size = size // stride_kv[1] if stride_kv else size
            d = 2 * max(q_size, kv_size) - 1
            self.rel_pos_h = nn.Parameter(torch.zeros(d, head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(d, head_dim))
            nn.init.trunc_normal_(self.rel_pos_h, std=0.02)
            nn.init.trunc_normal_(self.rel_pos_w, std=0.02)
        if rel_pos_temporal:
            self.rel_pos_t = nn.Parameter(torch.zeros(2 * input_size[0] - 1, head_dim))
            nn.init.trunc_normal_(self.rel_pos_t, std=0.02)
        self.residual_pooling = residual_pooling

    def forward(self, x, thw):
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, q_shape = attention_pool(q, self.pool_q, thw, self.has_cls_embed, self.norm_q)
        k, k_shape = attention_pool(k, self.pool_k, thw, self.has_cls_embed, self.norm_k)
        v, _ = attention_pool(v, self.pool_v, thw, self.has_cls_embed, self.norm_v)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        if self.rel_pos_spatial:
            attn = add_rel_pos_spatial(attn, q, self.has_cls_embed, q_shape, k_shape, self.rel_pos_h, self.rel_pos_w)
        if self.rel_pos_temporal:
            attn = add_rel_pos_temporal(attn, q, self.has_cls_embed, q_shape, k_shape, self.rel_pos_t)
        x = attn.softmax(dim=-1) @ v
        if self.residual_pooling:  # MViTv2: add the pooled query back
            if self.has_cls_embed:
                x = torch.cat([x[:, :, :1], x[:, :, 1:] + q[:, :, 1:]], dim=2)
            else:
                x = x + q
        x = x.transpose(1, 2).reshape(b, -1, self.dim_out)
        return self.proj(x), q_shape


class MultiScaleBlock(nn.Module):
    """Pre-norm transformer block with pooled (strided) residual path; channel growth inside attention."""

    def __init__(self, dim, dim_out, num_heads, input_size, mlp_ratio=4.0, qkv_bias=True, drop_path=0.0,
                 norm_layer=nn.LayerNorm, kernel_q=(), kernel_kv=(), stride_q=(), stride_kv=(), has_cls_embed=True,
                 rel_pos_spatial=True, rel_pos_temporal=True, residual_pooling=True):
        super().__init__()
        self.dim, self.dim_out, self.has_cls_embed = dim, dim_out, has_cls_embed
        self.norm1 = norm_layer(dim)
        self.attn = MultiScaleAttention(dim, dim_out, input_size, num_heads, qkv_bias, kernel_q, kernel_kv, stride_q,
                                        stride_kv, norm_layer, has_cls_embed, rel_pos_spatial, rel_pos_temporal,
                                        residual_pooling)
        self.drop_path = DropPath(drop_path)
        self.norm2 = norm_layer(dim_out)
        self.mlp = Mlp(dim_out, int(dim_out * mlp_ratio), dim_out)
        if dim != dim_out:
            self.proj = nn.Linear(dim, dim_out)
        if stride_q and math.prod(stride_q) > 1:
            k_skip = [s + 1 if s > 1 else s for s in stride_q]
            self.pool_skip = nn.MaxPool3d(k_skip, stride_q, [k // 2 for k in k_skip], ceil_mode=False)
        else:
            self.pool_skip = None

    def forward(self, x, thw):
        x_norm = self.norm1(x)
        x_block, thw_new = self.attn(x_norm, thw)
        if self.dim != self.dim_out:
            x = self.proj(x_norm)
        x_res, _ = attention_pool(x, self.pool_skip, thw, self.has_cls_embed)
        x = x_res + self.drop_path(x_block)
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x, thw_new


class PatchEmbed(nn.Module):
    def __init__(self, dim_in=3, dim_out=96, kernel=(3, 7, 7), stride=(2, 4, 4), padding=(1, 3, 3)):
        super().__init__()
        self.proj = nn.Conv3d(dim_in, dim_out, kernel, stride=stride, padding=padding)

    def forward(self, x):
        x = self.proj(x)
        return x.flatten(2).transpose(1, 2), list(x.shape[2:])


class TransformerHead(nn.Module):
    """PySlowFast's TransformerBasicHead (dropout + `projection`); returns logits (no softmax)."""

    def __init__(self, dim, num_classes, dropout=0.5):
        super().__init__()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.projection = nn.Linear(dim, num_classes)

    def forward(self, x):
        return self.projection(self.dropout(x))


def stage_schedule(depth, dim_mul, head_mul, pool_q_stride, pool_kvq_kernel, pool_kv_stride_adaptive):
    """Per-layer multipliers, pooling kernels and strides from a PySlowFast MVIT config."""
    dmul, hmul = [1.0] * (depth + 1), [1.0] * (depth + 1)
    for i, m in dim_mul:
        dmul[i] = m
    for i, m in head_mul:
        hmul[i] = m
    pool_q, pool_kv = [[] for _ in range(depth)], [[] for _ in range(depth)]
    stride_q, stride_kv = [[] for _ in range(depth)], [[] for _ in range(depth)]
    for i, *s in pool_q_stride:
        stride_q[i], pool_q[i] = list(s), list(pool_kvq_kernel)
    skv = list(pool_kv_stride_adaptive)
    for i in range(depth):
        if stride_q[i]:
            skv = [max(skv[d] // stride_q[i][d], 1) for d in range(3)]
        stride_kv[i], pool_kv[i] = list(skv), list(pool_kvq_kernel)
    return dmul, hmul, pool_q, pool_kv, stride_q, stride_kv


def init_mvit_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


# MViTv2-S, configs/Kinetics/MVITv2_S_16x4.yaml in PySlowFast
MVITV2_S = dict(depth=16, embed_dim=96, num_heads=1, dim_mul=[[1, 2.0], [3, 2.0], [14, 2.0]],
                head_mul=[[1, 2.0], [3, 2.0], [14, 2.0]], pool_q_stride=[[1, 1, 2, 2], [3, 1, 2, 2], [14, 1, 2, 2]],
                pool_kvq_kernel=(3, 3, 3), pool_kv_stride_adaptive=(1, 8, 8))


class MViTv2(VideoClassifier):
    classifier_name = "head.projection"

    def __init__(self, num_classes=400, frames=16, size=224, depth=16, embed_dim=96, num_heads=1,
                 dim_mul=MVITV2_S["dim_mul"], head_mul=MVITV2_S["head_mul"], pool_q_stride=MVITV2_S["pool_q_stride"],
                 pool_kvq_kernel=(3, 3, 3), pool_kv_stride_adaptive=(1, 8, 8), mlp_ratio=4.0, qkv_bias=True,
                 drop_path_rate=0.2, dropout=0.5, patch_kernel=(3, 7, 7), patch_stride=(2, 4, 4),
                 patch_padding=(1, 3, 3)):
        super().__init__()
        # every block pools q with a 3x3x3 conv (stride 1 outside the stage transitions), as in MVITv2_S_16x4
        full_q = {i: [1, 1, 1] for i in range(depth)}
        for i, *s in pool_q_stride:
            full_q[i] = s
        pool_q_stride = [[i, *s] for i, s in sorted(full_q.items())]
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.default_frames, self.default_size = frames, size
        self.patch_embed = PatchEmbed(3, embed_dim, patch_kernel, patch_stride, patch_padding)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        dmul, hmul, pool_q, pool_kv, stride_q, stride_kv = stage_schedule(
            depth, dim_mul, head_mul, pool_q_stride, pool_kvq_kernel, pool_kv_stride_adaptive)
        input_size = [frames // patch_stride[0], size // patch_stride[1], size // patch_stride[2]]
        dpr = linspace(0.0, drop_path_rate, depth)
        self.blocks = nn.ModuleList()
        for i in range(depth):
            num_heads = round_width(num_heads, hmul[i])
            dim_out = round_width(embed_dim, dmul[i], divisor=round_width(num_heads, hmul[i]))
            self.blocks.append(MultiScaleBlock(
                embed_dim, dim_out, num_heads, input_size, mlp_ratio, qkv_bias, dpr[i], norm_layer,
                pool_q[i], pool_kv[i], stride_q[i], stride_kv[i], has_cls_embed=True))
            if stride_q[i]:
                input_size = [s // st for s, st in zip(input_size, stride_q[i])]
            embed_dim = dim_out
        self.norm = norm_layer(embed_dim)
        self.head = TransformerHead(embed_dim, num_classes, dropout)
        self.apply(init_mvit_weights)

    def forward(self, x):
        self.check_input(x)
        x, thw = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        for blk in self.blocks:
            x, thw = blk(x, thw)
        return self.head(self.norm(x)[:, 0])


@register_model(family="multiscale transformer",
                paper="Li et al., MViTv2: Improved Multiscale Vision Transformers (CVPR 2022)",
                default_frames=16, default_size=224, cpu_frames=8, cpu_size=112, sampling="dense", frame_interval=4,
                pretrained="Kinetics-400 (PySlowFast)",
                param_ref="34.5M (MViTv2 paper, MViTv2-S K400)")
def mvitv2_s(num_classes: int = 400, frames: int = 16, size: int = 224, drop_path_rate: float = 0.2,
             dropout: float = 0.5) -> nn.Module:
    """MViTv2-S 16x4: pooling attention with decomposed relative positions and residual pooling."""
    return MViTv2(num_classes, frames, size, drop_path_rate=drop_path_rate, dropout=dropout, **MVITV2_S)
