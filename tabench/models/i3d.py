"""I3D ResNet-50 (Carreira & Zisserman 2017, ResNet-50 inflation as in PySlowFast's I3D_8x8_R50), built with
pytorchvideo's `create_resnet` using the same settings as pytorchvideo's hub `i3d_r50`, so its checkpoint
(I3D_8x8_R50.pyth, weights under "model_state") loads with `--weights`."""
from __future__ import annotations

from torch import nn

from tabench.models._ptv import PTVNet
from tabench.models._pytorchvideo import pytorchvideo_models
from tabench.models._registry import register_model


@register_model(family="3D CNN", paper="Carreira & Zisserman, Quo Vadis, Action Recognition? (CVPR 2017)",
                default_frames=8, default_size=224, cpu_frames=8, cpu_size=112, sampling="dense", frame_interval=8,
                pretrained="Kinetics-400 (PySlowFast)",
                param_ref="28.0M (PySlowFast/pytorchvideo I3D R50 8x8)")
def i3d_r50(num_classes: int = 400, dropout: float = 0.5) -> nn.Module:
    """I3D R50 8x8: inflated 3D ResNet-50 (temporal kernels 5 in the stem, 3 in alternating blocks)."""
    resnet, _, _ = pytorchvideo_models()
    net = resnet.create_resnet(
        model_depth=50,
        model_num_class=num_classes,
        dropout_rate=dropout,
        stem_conv_kernel_size=(5, 7, 7),
        stage1_pool=nn.MaxPool3d,
        stage_conv_a_kernel_size=((3, 1, 1), [(3, 1, 1), (1, 1, 1)], [(3, 1, 1), (1, 1, 1)], [(1, 1, 1), (3, 1, 1)]),
        head_pool_kernel_size=(4, 7, 7),
        head_activation=None,
    )
    return PTVNet(net, default_frames=8, default_size=224)
