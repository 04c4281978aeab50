"""A tiny video ViT with divided space-time attention (TimeSformer, Bertasius et al. 2021; ViViT model 3,
Arnab et al. 2021 factorises the same way): each block attends over time at every patch position, then over space
within each frame, then applies an MLP. Tubelet patches (2x8x8) keep the token count CPU-friendly.
Written here because no installable library ships a small video ViT that trains from scratch on a CPU."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tabench.models._base import DropPath, Mlp, VideoClassifier
from tabench.models._registry import register_model


class DividedSpaceTimeBlock(nn.Module):
    def __init__(self, dim, heads, mlp_ratio=4.0, drop_path=0.0):
        super().__init__()
        self.norm_t = nn.LayerNorm(dim)
        self.attn_t = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm_s = nn.LayerNorm(dim)
        self.attn_s = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path)

    def forward(self, x):  # (B, T, N, D)
        b, t, n, d = x.shape
        xt = self.norm_t(x).transpose(1, 2).reshape(b * n, t, d)
        xt = self.attn_t(xt, xt, xt, need_weights=False)[0].view(b, n, t, d).transpose(1, 2)
        x = x + self.drop_path(xt)
        xs = self.norm_s(x).reshape(b * t, n, d)
        xs = self.attn_s(xs, xs, xs, need_weights=False)[0].view(b, t, n, d)
        x = x + self.drop_path(xs)
        return x + self.drop_path(self.mlp(self.norm_mlp(x)))


class ViViT(VideoClassifier):
    classifier_name = "head"

    def __init__(self, num_classes, frames=16, size=64, tubelet=(2, 8, 8), dim=128, depth=4, heads=4,
                 mlp_ratio=4.0, drop_path_rate=0.0, dropout=0.0):
        super().__init__()
        self.default_frames, self.default_size = frames, size
        self.patch_embed = nn.Conv3d(3, dim, tubelet, stride=tubelet)
        self.grid = (frames // tubelet[0], size // tubelet[1], size // tubelet[2])
        self.pos_embed_spatial = nn.Parameter(torch.zeros(1, 1, self.grid[1] * self.grid[2], dim))
        self.pos_embed_temporal = nn.Parameter(torch.zeros(1, self.grid[0], 1, dim))
        nn.init.trunc_normal_(self.pos_embed_spatial, std=0.02)
        nn.init.trunc_normal_(self.pos_embed_temporal, std=0.02)
        dpr = [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]
        self.blocks = nn.ModuleList([DividedSpaceTimeBlock(dim, heads, mlp_ratio, dpr[i]) for i in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(dim, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self._init_classifier(self.head)

    def _pos(self, t, h, w):
        gt, gh, gw = self.grid
        sp, tp = self.pos_embed_spatial, self.pos_embed_temporal
        if (h, w) != (gh, gw):
            sp = sp.view(1, gh, gw, -1).permute(0, 3, 1, 2)
            sp = F.interpolate(sp, size=(h, w), mode="bicubic", align_corners=False).flatten(2).transpose(1, 2)[:, None]
        if t != gt:
            tp = F.interpolate(tp[:, :, 0].transpose(1, 2), size=t, mode="linear").transpose(1, 2)[:, :, None]
        return sp + tp

    def forward(self, x):
        self.check_input(x)
        x = self.patch_embed(x)  # (B, D, T', H', W')
        b, d, t, h, w = x.shape
        x = x.permute(0, 2, 3, 4, 1).reshape(b, t, h * w, d) + self._pos(t, h, w)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.dropout(self.norm(x.mean(dim=(1, 2)))))


@register_model(family="video transformer (divided space-time)",
                paper="Bertasius et al., Is Space-Time Attention All You Need? (ICML 2021); Arnab et al., ViViT (ICCV 2021)",
                default_frames=16, default_size=64, cpu_sized=True)
def vivit_tiny(num_classes: int = 400, frames: int = 16, size: int = 64, dim: int = 128, depth: int = 4,
               heads: int = 4, drop_path_rate: float = 0.0, dropout: float = 0.0) -> nn.Module:
    """Tiny video ViT (dim 128, depth 4, 2x8x8 tubelets) with divided space-time attention: CPU-sized."""
    return ViViT(num_classes, frames, size, dim=dim, depth=depth, heads=heads, drop_path_rate=drop_path_rate,
                 dropout=dropout)
