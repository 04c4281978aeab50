"""Registering video-text models: `register_video_text` is `register_model` with the facts every video-text
model shares (family "video-text", `video_text=True`, its text encoder, and CLIP's input normalisation when it is
built on CLIP weights), and the one builder they all share."""
from __future__ import annotations

from tabench.models._registry import CLIP_MEAN, CLIP_STD, KINETICS_MEAN, KINETICS_STD, register_model


def register_video_text(*, paper: str, default_frames: int, default_size: int, cpu_sized: bool, text: str,
                        cpu_frames: int | None = None, cpu_size: int | None = None, name: str | None = None,
                        sampling: str = "segment", frame_interval: int = 2, clip_init: bool | None = None,
                        param_ref: str = "", class_text: str = "templates", uses_unseen_texts: bool = False):
    """Like `register_model`, for a builder `(num_classes=None, class_texts=None, pretrained=None, **kw)`.
    `clip_init` (default: text == "clip") says the vision tower starts from CLIP weights, so its frames are
    normalised with CLIP's mean/std; the tiny MiniLM models train their ViT from scratch (Kinetics' mean/std).
    `class_text` is the model's default class-text mode and `uses_unseen_texts` says it can use unseen-class
    texts in training (`transductive`): the registry knows both, so configs resolve without building a model."""
    clip = text == "clip" if clip_init is None else bool(clip_init)
    return register_model(
        family="video-text", paper=paper, default_frames=default_frames, default_size=default_size,
        cpu_frames=cpu_frames, cpu_size=cpu_size, cpu_sized=cpu_sized, name=name, video_text=True,
        text_encoder=text, input_mean=CLIP_MEAN if clip else KINETICS_MEAN,
        input_std=CLIP_STD if clip else KINETICS_STD, sampling=sampling, frame_interval=frame_interval,
        pretrained="CLIP ViT-B/16" if clip else "", param_ref=param_ref, class_text=class_text,
        uses_unseen_texts=uses_unseen_texts)


def build(cls, *, size, pretrained, text, train_text, frames, class_texts, **kw):
    """Backbone (random `size` preset, or CLIP weights from `pretrained`) + text tower + the method `cls`."""
    from tabench.models.videotext.core import build_backbone

    visual, tower, scale = build_backbone(size, pretrained=pretrained, text=text, train_text=train_text)
    return cls(visual, tower, default_frames=frames, default_size=visual.image_size, logit_scale=scale,
               class_texts=class_texts, **kw)
