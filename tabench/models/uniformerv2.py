"""UniFormerV2-B/16 (Li et al. 2022, "UniFormerV2: Spatiotemporal Learning by Arming Image ViTs with Video
UniFormer"): the Kinetics-400 configuration (`uniformerv2_b16`, 8x224) and the Something-Something-v2 one
(`uniformerv2_b16_ssv2`, 16x224), the two the paper trained (K400-TA / Syn-TA and SSv2-TA).

A CLIP ViT-B/16 backbone (patch embedding inflated to a (1,16,16) 3D conv) whose last four blocks feed a global
UniBlock stack: per level a depthwise 3x3x3 conv position encoding (dpe) and a cross-attention "Extractor" that
updates one learnable video query from all spatio-temporal tokens; the query and the mean frame cls token are mixed
by a learned sigmoid gate before the classifier. Local UniBlocks (LMHRA, temporal depthwise convs inside each ViT
block, before the attention and again before the MLP: the official DOUBLE_LMHRA) are optional (`lmhra=True`; off in
the K400 config). The SSv2 config (the official exp/sthv2 configs, and the paper's released config_ssv2.yaml) turns
them on, puts global UniBlocks on the last 8 layers (4-11) and downsamples time with a 3-tap patch embedding
(Conv3d (3,16,16), stride (2,16,16): 16 frames in, 8 token frames), with backbone drop path 0.2 and drop path 0.4
on the global blocks; it has 163.0M parameters at 174 classes (the paper's 163M). Written here because
no installable library has it; names follow the official repo (backbone.transformer.{resblocks,dpe,dec,proj}),
so its checkpoints load with `--weights`."""
from __future__ import annotations

import torch
from torch import nn

from tabench.models._base import DropPath, VideoClassifier
from tabench.models._clip_vit import LayerNorm, clip_mlp, init_clip_vit, resize_pos_embed
from tabench.models._registry import CLIP_MEAN, CLIP_STD, register_model


class LocalMHRA(nn.Module):
    """Local temporal relation aggregator: BN, 1x1x1 reduce, depthwise (3,1,1) conv over time, 1x1x1 expand."""

    def __init__(self, dim: int, reduction: float = 1.5, kernel: int = 3):
        super().__init__()
        red = int(dim // reduction)
        self.pos_embed = nn.Sequential(
            nn.BatchNorm3d(dim),
            nn.Conv3d(dim, red, 1),
            nn.Conv3d(red, red, (kernel, 1, 1), padding=(kernel // 2, 0, 0), groups=red),
            nn.Conv3d(red, dim, 1),
        )
        nn.init.zeros_(self.pos_embed[3].weight)
        nn.init.zeros_(self.pos_embed[3].bias)

    def forward(self, x):
        return self.pos_embed(x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads, drop_path=0.0, lmhra=False):
        super().__init__()
        self.lmhra = lmhra
        if lmhra:
            self.lmhra1 = LocalMHRA(width)
            self.lmhra2 = LocalMHRA(width)
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = LayerNorm(width)
        self.mlp = clip_mlp(width)
        self.ln_2 = LayerNorm(width)
        self.drop_path = DropPath(drop_path)

    def _local(self, mod, x, t):
        n, bt, c = x.shape
        h = w = int(round((n - 1) ** 0.5))
        tokens = x[1:].view(h, w, bt // t, t, c).permute(2, 4, 3, 0, 1)  # (B, C, T, H, W)
        out = mod(tokens).permute(3, 4, 0, 2, 1).reshape(n - 1, bt, c)
        return torch.cat([x[:1], x[1:] + self.drop_path(out)], dim=0)

    def forward(self, x, t):
        if self.lmhra:
            x = self._local(self.lmhra1, x, t)
        y = self.ln_1(x)
        x = x + self.drop_path(self.attn(y, y, y, need_weights=False)[0])
        if self.lmhra:
            x = self._local(self.lmhra2, x, t)
        return x + self.drop_path(self.mlp(self.ln_2(x)))


class Extractor(nn.Module):
    """Global UniBlock decoder layer: the video query cross-attends to all tokens (ln_3 normalises them)."""

    def __init__(self, dim, heads, mlp_ratio=4.0, dropout=0.5, drop_path=0.0):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads)
        self.ln_1 = nn.LayerNorm(dim)
        self.mlp = clip_mlp(dim, mlp_ratio, dropout)
        self.ln_2 = nn.LayerNorm(dim)
        self.ln_3 = nn.LayerNorm(dim)
        self.drop_path = DropPath(drop_path)
        nn.init.xavier_uniform_(self.attn.in_proj_weight)
        nn.init.zeros_(self.attn.in_proj_bias)
        nn.init.zeros_(self.attn.out_proj.weight)
        nn.init.zeros_(self.attn.out_proj.bias)
        nn.init.xavier_uniform_(self.mlp.c_fc.weight)
        nn.init.zeros_(self.mlp.c_fc.bias)
        nn.init.zeros_(self.mlp.c_proj.weight)
        nn.init.zeros_(self.mlp.c_proj.bias)

    def forward(self, q, y):
        y = self.ln_3(y)
        x = q + self.drop_path(self.attn(self.ln_1(q), y, y, need_weights=False)[0])
        return x + self.drop_path(self.mlp(self.ln_2(x)))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, num_classes, return_list=(8, 9, 10, 11), n_dim=768, n_head=12,
                 mlp_factor=4.0, drop_path_rate=0.0, backbone_drop_path_rate=0.0, mlp_dropout=0.5,
                 cls_dropout=0.5, lmhra=False):
        super().__init__()
        self.return_list = list(return_list)
        bdpr = [backbone_drop_path_rate * i / max(layers - 1, 1) for i in range(layers)]
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads, bdpr[i], lmhra) for i in range(layers)])
        n = len(self.return_list)
        dpr = [drop_path_rate * i / max(n - 1, 1) for i in range(n)]
        self.temporal_cls_token = nn.Parameter(torch.zeros(1, 1, n_dim))
        self.dpe = nn.ModuleList([nn.Conv3d(n_dim, n_dim, 3, padding=1, groups=n_dim) for _ in range(n)])
        for m in self.dpe:
            nn.init.zeros_(m.bias)
        self.dec = nn.ModuleList([Extractor(n_dim, n_head, mlp_factor, mlp_dropout, dpr[i]) for i in range(n)])
        self.proj = nn.Sequential(nn.LayerNorm(n_dim), nn.Dropout(cls_dropout), nn.Linear(n_dim, num_classes))
        self.balance = nn.Parameter(torch.zeros(n_dim))

    def forward(self, x, t):
        n_tok, bt, c = x.shape
        b = bt // t
        h = w = int(round((n_tok - 1) ** 0.5))
        query = self.temporal_cls_token.repeat(1, b, 1)
        j = -1
        for i, blk in enumerate(self.resblocks):
            x = blk(x, t)
            if i in self.return_list:
                j += 1
                tmp = x.view(n_tok, b, t, c)
                feats = tmp[1:].permute(1, 3, 2, 0).reshape(b, c, t, h, w)
                feats = self.dpe[j](feats).view(b, c, t, n_tok - 1).permute(3, 0, 2, 1)
                tmp = torch.cat([tmp[:1], tmp[1:] + feats], dim=0)
                tmp = tmp.permute(2, 0, 1, 3).flatten(0, 1)  # (T*N, B, C)
                query = self.dec[j](query, tmp)
        weight = torch.sigmoid(self.balance)
        residual = x.view(n_tok, b, t, c)[0].mean(1)  # frame cls tokens, averaged over time
        return self.proj((1 - weight) * query[0] + weight * residual)


class VisionTransformer(nn.Module):
    def __init__(self, size, patch, width, layers, heads, num_classes, temporal_downsample=False, **kw):
        super().__init__()
        # temporal downsampling (SSv2 config): a 3-tap patch embedding with stride 2 halves the token frames
        kt, st = (3, 2) if temporal_downsample else (1, 1)
        self.conv1 = nn.Conv3d(3, width, (kt, patch, patch), (st, patch, patch), (kt // 2, 0, 0), bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((size // patch) ** 2 + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, num_classes, **kw)
        init_clip_vit(self.transformer.resblocks, width, layers)

    def forward(self, x):
        x = self.conv1(x)  # (B, C, T, H', W')
        b, c, t, gh, gw = x.shape
        x = x.permute(0, 2, 3, 4, 1).reshape(b * t, gh * gw, c)
        x = torch.cat([self.class_embedding.to(x.dtype).expand(b * t, 1, -1), x], dim=1)
        x = x + resize_pos_embed(self.positional_embedding, (gh, gw)).to(x.dtype)
        x = self.ln_pre(x).permute(1, 0, 2)  # (N, B*T, C)
        return self.transformer(x, t)


class UniFormerV2(VideoClassifier):
    classifier_name = "backbone.transformer.proj.2"

    def __init__(self, num_classes=400, frames=8, size=224, patch=16, width=768, layers=12, heads=12, **kw):
        super().__init__()
        self.default_frames, self.default_size = frames, size
        self.backbone = VisionTransformer(size, patch, width, layers, heads, num_classes, **kw)
        self._init_classifier(self.get_classifier())

    def forward(self, x):
        self.check_input(x)
        return self.backbone(x)


@register_model(family="ViT + video UniFormer blocks (CLIP ViT)",
                paper="Li et al., UniFormerV2: Spatiotemporal Learning by Arming Image ViTs with Video UniFormer "
                      "(ICCV 2023)",
                default_frames=8, default_size=224, cpu_frames=8, cpu_size=112,
                input_mean=CLIP_MEAN, input_std=CLIP_STD, pretrained="CLIP ViT-B/16",
                param_ref="115M (UniFormerV2 paper, B/16 K400)")
def uniformerv2_b16(num_classes: int = 400, frames: int = 8, size: int = 224, lmhra: bool = False,
                    drop_path_rate: float = 0.0, dropout: float = 0.5) -> nn.Module:
    """UniFormerV2-B/16 (K400 config): CLIP ViT-B/16 + 4 global UniBlocks with a learned video query."""
    return UniFormerV2(num_classes, frames, size, lmhra=lmhra, drop_path_rate=drop_path_rate, cls_dropout=dropout)


@register_model(family="ViT + video UniFormer blocks (CLIP ViT)",
                paper="Li et al., UniFormerV2: Spatiotemporal Learning by Arming Image ViTs with Video UniFormer "
                      "(ICCV 2023)",
                default_frames=16, default_size=224, cpu_frames=8, cpu_size=112, sampling="segment",
                input_mean=CLIP_MEAN, input_std=CLIP_STD, pretrained="CLIP ViT-B/16",
                param_ref="163M (UniFormerV2 paper, B/16 SSv2, 174 classes)")
def uniformerv2_b16_ssv2(num_classes: int = 174, frames: int = 16, size: int = 224, drop_path_rate: float = 0.4,
                         backbone_drop_path_rate: float = 0.2, dropout: float = 0.5) -> nn.Module:
    """UniFormerV2-B/16 (SSv2 config): global UniBlocks at layers 4-11, double local MHRA, 3-tap temporal downsampling."""
    return UniFormerV2(num_classes, frames, size, lmhra=True, return_list=tuple(range(4, 12)),
                       temporal_downsample=True, drop_path_rate=drop_path_rate,
                       backbone_drop_path_rate=backbone_drop_path_rate, cls_dropout=dropout)
