"""Registering video-text models in tabench's model registry, marked `video_text=True` in `model_info` so the
runner can tell them from unimodal models, and the one builder they all share."""
from __future__ import annotations

import dataclasses
import inspect

from tabench.models._registry import _INFO, ModelInfo, register_model


@dataclasses.dataclass(frozen=True)
class VideoTextInfo(ModelInfo):
    video_text: bool = True
    text_encoder: str = ""  # "minilm" or "clip"


def register_video_text(*, paper: str, default_frames: int, default_size: int, cpu_sized: bool, text: str,
                        cpu_frames: int | None = None, cpu_size: int | None = None, name: str | None = None):
    """Like `register_model`, for a builder `(num_classes=None, class_texts=None, pretrained=None, **kw)`."""
    kw = dict(family="video-text", paper=paper, default_frames=default_frames, default_size=default_size,
              cpu_frames=cpu_frames, cpu_size=cpu_size, cpu_sized=cpu_sized, name=name)
    if "video_text" in inspect.signature(register_model).parameters:
        kw["video_text"] = True

    def deco(builder):
        register_model(**kw)(builder)
        key = name or builder.__name__
        info = _INFO[key]
        fields = {f.name: getattr(info, f.name) for f in dataclasses.fields(info)}
        fields.update(video_text=True, text_encoder=text)
        _INFO[key] = VideoTextInfo(**fields)
        return builder

    return deco


def build(cls, *, size, pretrained, text, train_text, frames, class_texts, **kw):
    """Backbone (random `size` preset, or CLIP weights from `pretrained`) + text tower + the method `cls`."""
    from tabench.models.videotext.core import build_backbone

    visual, tower, scale = build_backbone(size, pretrained=pretrained, text=text, train_text=train_text)
    return cls(visual, tower, default_frames=frames, default_size=visual.image_size, logit_scale=scale,
               class_texts=class_texts, **kw)
