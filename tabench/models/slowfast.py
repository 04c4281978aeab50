"""SlowFast R50 (Feichtenhofer et al. 2019) via pytorchvideo's `create_slowfast` (hub settings, so
SLOWFAST_8x8_R50.pyth loads). The model takes one clip (B, 3, T, H, W) as the fast pathway and builds the
slow pathway internally by taking every `alpha`-th frame."""
from __future__ import annotations

import torch
from torch import nn

from tabench import TabenchError
from tabench.models._ptv import PTVNet
from tabench.models._pytorchvideo import pytorchvideo_models
from tabench.models._registry import register_model


class SlowFast(PTVNet):
    def __init__(self, net, alpha: int, default_frames: int, default_size: int):
        super().__init__(net, default_frames, default_size)
        self.alpha = alpha

    def _prepare(self, x):
        t = x.shape[2]
        if t % self.alpha:
            raise TabenchError(f"SlowFast with alpha={self.alpha} needs a frame count divisible by {self.alpha}, got {t}")
        idx = torch.linspace(0, t - 1, t // self.alpha, device=x.device).long()
        return [x.index_select(2, idx), x]


@register_model(family="two-pathway 3D CNN",
                paper="Feichtenhofer et al., SlowFast Networks for Video Recognition (ICCV 2019)",
                default_frames=32, default_size=224, cpu_frames=8, cpu_size=112, sampling="dense", frame_interval=2,
                pretrained="Kinetics-400 (PySlowFast)",
                param_ref="34.6M (SlowFast R50 4x16 / 8x8)")
def slowfast_r50(num_classes: int = 400, alpha: int = 4, dropout: float = 0.5) -> nn.Module:
    """SlowFast R50 8x8 (alpha=4, beta=1/8): 32 fast frames, 8 slow frames. alpha=8 gives the 4x16 variant."""
    _, _, slowfast = pytorchvideo_models()
    net = slowfast.create_slowfast(
        model_depth=50,
        model_num_class=num_classes,
        dropout_rate=dropout,
        slowfast_fusion_conv_kernel_size=(7, 1, 1),
        slowfast_fusion_conv_stride=(alpha, 1, 1),
        head_activation=None,
    )
    return SlowFast(net, alpha=alpha, default_frames=32, default_size=224)
