"""A tiny 3D ResNet (R3D, Tran et al. 2018 / Hara et al. 2018) that trains from scratch on 2 CPU cores in
minutes. Every residual block uses full 3x3x3 convolutions, so the temporal receptive field grows with depth
(rising vs falling, clockwise vs counter-clockwise need it). Written here because pytorchvideo's `create_resnet`
only offers bottleneck ResNet-50/101/152."""
from __future__ import annotations

from torch import nn

from tabench.models._base import VideoClassifier
from tabench.models._registry import register_model


def _conv_bn(cin, cout, k, stride, relu=True):
    pad = tuple(s // 2 for s in k)
    layers = [nn.Conv3d(cin, cout, k, stride=stride, padding=pad, bias=False), nn.BatchNorm3d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


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
                 temporal_strides=(1, 2, 2, 1), dropout: float = 0.2, default_frames: int = 16, default_size: int = 112):
        super().__init__()
        self.stem = _conv_bn(3, widths[0], (3, 7, 7), (1, 2, 2))
        stages, cin = [], widths[0]
        for i, (w, n, ts) in enumerate(zip(widths, blocks, temporal_strides)):
            ss = 1 if i == 0 else 2
            stages.append(nn.Sequential(*[BasicBlock3d(cin if j == 0 else w, w, (ts, ss, ss) if j == 0 else (1, 1, 1))
                                          for j in range(n)]))
            cin = w
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        self._init_classifier(self.fc)
        self.default_frames, self.default_size = default_frames, default_size

    def forward(self, x):
        self.check_input(x)
        x = self.pool(self.stages(self.stem(x))).flatten(1)
        return self.fc(self.dropout(x))


@register_model(family="3D CNN", paper="Tran et al., A Closer Look at Spatiotemporal Convolutions (CVPR 2018)",
                default_frames=16, default_size=112, cpu_sized=True)
def r3d_tiny(num_classes: int = 400, widths=(16, 32, 64, 128), blocks=(1, 1, 1, 1), dropout: float = 0.2) -> nn.Module:
    """Tiny R3D (4 stages of 3x3x3 basic blocks, ~1M params): the CPU-sized 3D CNN."""
    return R3D(num_classes, widths=widths, blocks=blocks, dropout=dropout)
