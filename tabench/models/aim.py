"""AIM (Yang et al. 2023, "Adapting Image Models for Efficient Video Action Recognition"), ViT-B/16.

A CLIP ViT-B/16 whose weights stay frozen; each block gets three bottleneck adapters (768 -> 192 -> 768):
temporal adaptation (the block's own attention reused across frames, T_Adapter), spatial adaptation (S_Adapter)
and joint adaptation in parallel to the MLP (MLP_Adapter, scaled by 0.5). Only adapters, the temporal embedding,
ln_post and the classifier are trainable, as in the official code. Written here because no installable library
has it; names follow the official mmaction-based repo (backbone.*, cls_head.fc_cls), so its checkpoints load."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tabench.models._base import DropPath, VideoClassifier
from tabench.models._clip_vit import LayerNorm, clip_mlp, init_clip_vit, resize_pos_embed
from tabench.models._registry import CLIP_MEAN, CLIP_STD, register_model

TRAINABLE = ("Adapter", "temporal_embedding", "ln_post", "cls_head")


class Adapter(nn.Module):
    def __init__(self, dim: int, ratio: float = 0.25, skip_connect: bool = True):
        super().__init__()
        self.skip_connect = skip_connect
        hidden = int(dim * ratio)
        self.act = nn.GELU()
        self.D_fc1 = nn.Linear(dim, hidden)
        self.D_fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        xs = self.D_fc2(self.act(self.D_fc1(x)))
        return x + xs if self.skip_connect else xs


class AIMBlock(nn.Module):
    def __init__(self, width: int, heads: int, scale: float = 0.5, drop_path: float = 0.0):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = LayerNorm(width)
        self.mlp = clip_mlp(width)
        self.ln_2 = LayerNorm(width)
        self.MLP_Adapter = Adapter(width, skip_connect=False)
        self.S_Adapter = Adapter(width)
        self.T_Adapter = Adapter(width, skip_connect=False)
        self.scale = scale
        self.drop_path = DropPath(drop_path)

    def attention(self, x):
        return self.attn(x, x, x, need_weights=False)[0]

    def forward(self, x, t: int):
        n, bt, d = x.shape  # (tokens, batch*frames, dim)
        b = bt // t
        # temporal adaptation: the frozen attention, applied across the T frames of each token position
        xt = x.view(n, b, t, d).permute(2, 1, 0, 3).reshape(t, b * n, d)
        xt = self.T_Adapter(self.attention(self.ln_1(xt)))
        xt = xt.view(t, b, n, d).permute(2, 1, 0, 3).reshape(n, bt, d)
        x = x + self.drop_path(xt)
        # spatial adaptation
        x = x + self.S_Adapter(self.attention(self.ln_1(x)))
        # joint adaptation
        xn = self.ln_2(x)
        return x + self.mlp(xn) + self.drop_path(self.scale * self.MLP_Adapter(xn))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, drop_path_rate):
        super().__init__()
        dpr = [drop_path_rate * i / max(layers - 1, 1) for i in range(layers)]
        self.resblocks = nn.ModuleList([AIMBlock(width, heads, drop_path=dpr[i]) for i in range(layers)])

    def forward(self, x, t):
        for blk in self.resblocks:
            x = blk(x, t)
        return x


class ViTCLIPAdapted(nn.Module):
    def __init__(self, frames, size, patch, width, layers, heads, drop_path_rate):
        super().__init__()
        self.patch = patch
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((size // patch) ** 2 + 1, width))
        self.ln_pre = LayerNorm(width)
        self.temporal_embedding = nn.Parameter(torch.zeros(1, frames, width))
        self.transformer = Transformer(width, layers, heads, drop_path_rate)
        self.ln_post = LayerNorm(width)
        init_clip_vit(self, width, layers)

    def forward(self, x):
        b, c, t, h, w = x.shape
        x = self.conv1(x.transpose(1, 2).reshape(b * t, c, h, w))  # per-frame patches
        gh, gw = x.shape[-2:]
        x = x.flatten(2).transpose(1, 2)
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + resize_pos_embed(self.positional_embedding, (gh, gw)).to(x.dtype)
        n = x.shape[1]
        temb = self.temporal_embedding
        if temb.shape[1] != t:
            temb = F.interpolate(temb.transpose(1, 2), size=t, mode="linear").transpose(1, 2)
        x = (x.view(b, t, n, -1) + temb[:, :, None]).view(b * t, n, -1)
        x = self.ln_pre(x).permute(1, 0, 2)  # (N, B*T, D)
        x = self.transformer(x, t)
        x = self.ln_post(x[0])  # cls token per frame
        return x.view(b, t, -1)


class I3DHead(nn.Module):
    """mmaction's I3DHead: average over time, dropout, fc_cls."""

    def __init__(self, in_channels, num_classes, dropout=0.5):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def forward(self, x):
        return self.fc_cls(self.dropout(x.mean(1)))


class AIM(VideoClassifier):
    classifier_name = "cls_head.fc_cls"

    def __init__(self, num_classes=400, frames=8, size=224, patch=16, width=768, layers=12, heads=12,
                 drop_path_rate=0.1, dropout=0.5):
        super().__init__()
        self.default_frames, self.default_size = frames, size
        self.backbone = ViTCLIPAdapted(frames, size, patch, width, layers, heads, drop_path_rate)
        self.cls_head = I3DHead(width, num_classes, dropout)
        self._init_classifier(self.cls_head.fc_cls)
        for blk in self.backbone.transformer.resblocks:  # adapters start as (near) no-ops
            for name in ("S_Adapter", "T_Adapter", "MLP_Adapter"):
                nn.init.zeros_(getattr(blk, name).D_fc2.weight)
                nn.init.zeros_(getattr(blk, name).D_fc2.bias)
        self.freeze_backbone()

    def freeze_backbone(self) -> None:
        """Freeze the image model: only adapters, temporal embedding, ln_post and the head train."""
        for name, p in self.named_parameters():
            p.requires_grad = any(k in name for k in TRAINABLE)

    def reset_classifier(self, num_classes: int) -> None:
        super().reset_classifier(num_classes)
        self.freeze_backbone()

    def forward(self, x):
        self.check_input(x)
        return self.cls_head(self.backbone(x))


@register_model(family="adapted image transformer (CLIP ViT)",
                paper="Yang et al., AIM: Adapting Image Models for Efficient Video Action Recognition (ICLR 2023)",
                default_frames=8, default_size=224, cpu_frames=8, cpu_size=112, sampling="dense", frame_interval=16,
                input_mean=CLIP_MEAN, input_std=CLIP_STD, pretrained="CLIP ViT-B/16",
                param_ref="97M total, 11M tunable (AIM paper, ViT-B/16)")
def aim_vit_b16(num_classes: int = 400, frames: int = 8, size: int = 224, drop_path_rate: float = 0.1,
                dropout: float = 0.5) -> nn.Module:
    """AIM ViT-B/16: frozen CLIP ViT-B/16 + temporal/spatial/joint adapters; only adapters and head train."""
    return AIM(num_classes, frames, size, drop_path_rate=drop_path_rate, dropout=dropout)
