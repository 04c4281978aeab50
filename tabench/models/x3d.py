"""X3D (Feichtenhofer 2020) XS/S/M via pytorchvideo's `create_x3d`, with the hub settings, so pytorchvideo's
X3D_XS/S/M.pyth checkpoints load with `--weights`. X3D-M is the variant the paper used; X3D-XS is small enough
to train on a CPU."""
from __future__ import annotations

from torch import nn

from tabench.models._ptv import PTVNet
from tabench.models._pytorchvideo import pytorchvideo_models
from tabench.models._registry import register_model

_PAPER = "Feichtenhofer, X3D: Expanding Architectures for Efficient Video Recognition (CVPR 2020)"


def _x3d(num_classes: int, frames: int, size: int, depth_factor: float, dropout: float) -> nn.Module:
    _, x3d, _ = pytorchvideo_models()
    net = x3d.create_x3d(
        input_clip_length=frames,
        input_crop_size=size,
        model_num_class=num_classes,
        dropout_rate=dropout,
        depth_factor=depth_factor,
        head_activation=None,
    )
    return PTVNet(net, default_frames=frames, default_size=size)


@register_model(family="3D CNN", paper=_PAPER, default_frames=4, default_size=160, cpu_frames=8, cpu_size=112,
                cpu_sized=True, param_ref="3.8M (X3D paper, Table 3)")
def x3d_xs(num_classes: int = 400, dropout: float = 0.5) -> nn.Module:
    """X3D-XS: channel-wise 3D convs, 4x160 in the paper's config; small enough for CPU training."""
    return _x3d(num_classes, 4, 160, 2.2, dropout)


@register_model(family="3D CNN", paper=_PAPER, default_frames=13, default_size=160, cpu_frames=8, cpu_size=112,
                sampling="dense", frame_interval=6, pretrained="Kinetics-400 (PySlowFast)", param_ref="3.8M (X3D paper, Table 3)")
def x3d_s(num_classes: int = 400, dropout: float = 0.5) -> nn.Module:
    """X3D-S: 13x160."""
    return _x3d(num_classes, 13, 160, 2.2, dropout)


@register_model(family="3D CNN", paper=_PAPER, default_frames=16, default_size=224, cpu_frames=8, cpu_size=112,
                sampling="dense", frame_interval=5, pretrained="Kinetics-400 (PySlowFast)", param_ref="3.8M (X3D paper, Table 3)")
def x3d_m(num_classes: int = 400, dropout: float = 0.5) -> nn.Module:
    """X3D-M: 16x224 (the variant used in the paper)."""
    return _x3d(num_classes, 16, 224, 2.2, dropout)
