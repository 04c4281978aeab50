"""ResNet-50 TSN (Wang et al. 2016 style, as in the paper's PySlowFast ResNet50 baseline): a 2D ResNet-50 runs
on every frame and the per-frame features are averaged over time before one linear classifier. The 2D backbone is
transformers' `ResNetModel` (ResNet-50 config, random init; torchvision cannot be installed here), so Hugging Face
ResNet-50 checkpoints load into `backbone` with `--weights`."""
from __future__ import annotations

from torch import nn

from tabench.models._base import VideoClassifier
from tabench.models._registry import IMAGENET_MEAN, IMAGENET_STD, register_model


class ResNetTSN(VideoClassifier):
    classifier_name = "fc"

    def __init__(self, num_classes: int, depths=(3, 4, 6, 3), widths=(256, 512, 1024, 2048), dropout: float = 0.5,
                 default_frames: int = 8, default_size: int = 224):
        super().__init__()
        from transformers import ResNetConfig, ResNetModel

        cfg = ResNetConfig(depths=list(depths), hidden_sizes=list(widths), layer_type="bottleneck",
                           embedding_size=64, downsample_in_first_stage=False)
        self.backbone = ResNetModel(cfg)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(widths[-1], num_classes)
        self._init_classifier(self.fc)
        self.default_frames, self.default_size = default_frames, default_size

    def forward(self, x):
        self.check_input(x)
        b, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(b * t, c, h, w)  # (B*T, C, H, W): each frame is an image
        feats = self.backbone(pixel_values=frames).pooler_output.flatten(1)
        feats = feats.view(b, t, -1).mean(1)  # TSN consensus: average over frames
        return self.fc(self.dropout(feats))


@register_model(family="2D CNN (TSN)", paper="He et al., Deep Residual Learning (CVPR 2016); TSN-style averaging",
                default_frames=8, default_size=224, cpu_frames=8, cpu_size=112,
                input_mean=IMAGENET_MEAN, input_std=IMAGENET_STD, pretrained="ImageNet (torchvision ResNet-50)",
                param_ref="23.5M backbone (ResNet-50 without fc)")
def resnet50_tsn(num_classes: int = 400, dropout: float = 0.5) -> nn.Module:
    """2D ResNet-50 on each frame, frame features averaged (no temporal modelling: a context-only baseline)."""
    return ResNetTSN(num_classes, dropout=dropout)
