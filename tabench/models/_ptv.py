"""Adapter from pytorchvideo's `Net` (a `blocks` ModuleList) to the tabench model interface."""
from __future__ import annotations

from torch import nn

from tabench.models._base import VideoClassifier


def _adaptive_head_pools(module: nn.Module) -> None:
    """pytorchvideo sizes its head pooling for one input shape; make it global so any T/H/W works."""
    for name, child in module.named_children():
        if isinstance(child, nn.AvgPool3d):
            setattr(module, name, nn.AdaptiveAvgPool3d(1))
        else:
            _adaptive_head_pools(child)


class PTVNet(VideoClassifier):
    """Keeps pytorchvideo's `blocks` as a direct child so state-dict keys ("blocks.N....") equal those of
    pytorchvideo's hub checkpoints and PySlowFast's `ptv_*` models."""

    def __init__(self, net: nn.Module, default_frames: int, default_size: int, min_frames: int = 1):
        super().__init__()
        self.blocks = net.blocks
        self.default_frames, self.default_size, self.min_frames = default_frames, default_size, min_frames
        for b in list(self.blocks)[-2:]:
            _adaptive_head_pools(b)
        self.classifier_name = f"blocks.{len(self.blocks) - 1}.proj"

    def _prepare(self, x):
        return x

    def forward(self, x):
        self.check_input(x)
        x = self._prepare(x)
        for block in self.blocks:
            x = block(x)
        return x.flatten(1)
