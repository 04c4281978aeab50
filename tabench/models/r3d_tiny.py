"""A tiny 3D ResNet (R3D, Tran et al. 2018 / Hara et al. 2018) that trains from scratch on 2 CPU cores in
minutes. Every residual block uses full 3x3x3 convolutions, so the temporal receptive field grows with depth
(rising vs falling, clockwise vs counter-clockwise need it). Written here because pytorchvideo's `create_resnet`
only offers bottleneck ResNet-50/101/152.

`rgb_diff=True` feeds the stem the clip and its frame-to-frame differences (6 channels), TSN's "RGB difference"
modality (Wang et al., ECCV 2016) used as an extra input: a static background cancels in the differences, so a
model trained from scratch on little data sees the moving objects instead of the photo behind them."""
from __future__ import annotations

import torch
from torch import nn

from tabench.models._base import VideoClassifier
from tabench.models._registry import register_model


def _conv_bn(cin, cout, k, stride, relu=True):
    pad = tuple(s // 2 for s in k)
    layers = [nn.Conv3d(cin, cout, k, stride=stride, padding=pad, bias=False), nn.BatchNorm3d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


POOLS = ("avg", "max", "avgmax")


def rgb_difference(x: torch.Tensor) -> torch.Tensor:
    """x[:, :, t] - x[:, :, t-1] for (B, C, T, H, W) clips; zeros for the first frame."""
    d = torch.zeros_like(x)
    d[:, :, 1:] = x[:, :, 1:] - x[:, :, :-1]
    return d


class BasicBlock3d(nn.Module):
    def __init__(self, cin: int, cout: int, stride):
        super().__init__()
        self.conv1 = _conv_bn(cin, cout, (3, 3, 3), stride)
        self.conv2 = _conv_bn(cout, cout, (3, 3, 3), 1, relu=False)
        self.shortcut = (nn.Identity() if cin == cout and stride == (1, 1, 1)
                         else _conv_bn(cin, cout, (1, 1, 1), stride, relu=False))
        self.relu = nn.ReLU(inplace=True)
        nn.init.zeros_(self.conv2[1].weight)  # start each block as identity: trains faster from scratch

    def forward(self, x):
        return self.relu(self.shortcut(x) + self.conv2(self.conv1(x)))


class R3D(VideoClassifier):
    classifier_name = "fc"

    def __init__(self, num_classes: int, widths=(16, 32, 64, 128), blocks=(1, 1, 1, 1),
                 temporal_strides=(1, 2, 2, 1), dropout: float = 0.2, default_frames: int = 16, default_size: int = 112,
                 rgb_diff: bool = False, pool: str = "avg"):
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {', '.join(POOLS)}, got {pool!r}")
        self.pool_mode = pool
        self.rgb_diff = bool(rgb_diff)
        self.stem = _conv_bn(6 if self.rgb_diff else 3, widths[0], (3, 7, 7), (1, 2, 2))
        stages, cin = [], widths[0]
        for i, (w, n, ts) in enumerate(zip(widths, blocks, temporal_strides)):
            ss = 1 if i == 0 else 2
            stages.append(nn.Sequential(*[BasicBlock3d(cin if j == 0 else w, w, (ts, ss, ss) if j == 0 else (1, 1, 1))
                                          for j in range(n)]))
            cin = w
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin * (2 if pool == "avgmax" else 1), num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        self._init_classifier(self.fc)
        self.default_frames, self.default_size = default_frames, default_size

    def forward(self, x):
        self.check_input(x)
        if self.rgb_diff:
            x = torch.cat([x, rgb_difference(x)], dim=1)
        x = self.stages(self.stem(x))
        if self.pool_mode == "avg":
            x = self.pool(x).flatten(1)
        else:  # max over space (a few pixels of object outweigh the background), mean over time
            xm = x.amax(dim=(3, 4)).mean(2)
            x = xm if self.pool_mode == "max" else torch.cat([self.pool(x).flatten(1), xm], 1)
        return self.fc(self.dropout(x))


@register_model(family="3D CNN", paper="Tran et al., A Closer Look at Spatiotemporal Convolutions (CVPR 2018)",
                default_frames=16, default_size=112, cpu_sized=True)
def r3d_tiny(num_classes: int = 400, widths=(16, 32, 64, 128), blocks=(1, 1, 1, 1), dropout: float = 0.2,
             rgb_diff: bool = False, pool: str = "avg") -> nn.Module:
    """Tiny R3D (4 stages of 3x3x3 basic blocks, ~1M params): the CPU-sized 3D CNN."""
    return R3D(num_classes, widths=widths, blocks=blocks, dropout=dropout, rgb_diff=rgb_diff, pool=pool)
