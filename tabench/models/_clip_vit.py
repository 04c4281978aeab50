"""A CLIP ViT image encoder (Radford et al. 2021) with OpenAI's parameter names (conv1, class_embedding,
positional_embedding, ln_pre, transformer.resblocks.N.{attn,ln_1,mlp.c_fc,mlp.c_proj,ln_2}, ln_post).

AIM and UniFormerV2 both start from CLIP ViT-B/16 and insert modules *inside* each block (adapters, local temporal
attention), which transformers' `CLIPVisionModel` layers cannot host without monkey-patching; keeping OpenAI's
names means their official checkpoints (and a CLIP ViT-B/16 state dict) load with `--weights`."""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class LayerNorm(nn.LayerNorm):
    """LayerNorm computed in float32 (as in CLIP), so fp16/bf16 inputs stay stable."""

    def forward(self, x):
        return super().forward(x.float()).type(x.dtype)


def clip_mlp(width: int, mlp_ratio: float = 4.0, dropout: float = 0.0) -> nn.Sequential:
    hidden = round(width * mlp_ratio)
    layers = [("c_fc", nn.Linear(width, hidden)), ("gelu", QuickGELU())]
    if dropout > 0:
        layers.append(("dropout", nn.Dropout(dropout)))
    layers.append(("c_proj", nn.Linear(hidden, width)))
    return nn.Sequential(OrderedDict(layers))


def resize_pos_embed(pos: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """(1 + g*g, D) -> (1 + h*w, D): bicubic resize of the patch grid, cls position kept."""
    n = pos.shape[0] - 1
    g = int(round(n ** 0.5))
    if (g, g) == tuple(grid):
        return pos
    cls_pos, grid_pos = pos[:1], pos[1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
    grid_pos = F.interpolate(grid_pos.float(), size=grid, mode="bicubic", align_corners=False).to(pos.dtype)
    return torch.cat([cls_pos, grid_pos.permute(0, 2, 3, 1).reshape(grid[0] * grid[1], -1)], dim=0)


def init_clip_vit(module: nn.Module, width: int, layers: int) -> None:
    """CLIP's initialisation (used when no checkpoint is loaded)."""
    proj_std = (width ** -0.5) * ((2 * layers) ** -0.5)
    attn_std, fc_std = width ** -0.5, (2 * width) ** -0.5
    for name, m in module.named_modules():
        if isinstance(m, nn.MultiheadAttention):
            nn.init.normal_(m.in_proj_weight, std=attn_std)
            nn.init.normal_(m.out_proj.weight, std=proj_std)
            nn.init.zeros_(m.in_proj_bias)
            nn.init.zeros_(m.out_proj.bias)
        elif isinstance(m, nn.Linear) and name.endswith("c_fc"):
            nn.init.normal_(m.weight, std=fc_std)
        elif isinstance(m, nn.Linear) and name.endswith("c_proj"):
            nn.init.normal_(m.weight, std=proj_std)
