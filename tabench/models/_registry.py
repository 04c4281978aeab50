"""Model registry: names map to plain nn.Module builders plus the facts a user needs before building one.

Architecture is kept apart from weights (timm style): a builder only constructs a randomly initialised
network; `create_model(..., weights=PATH)` loads a local checkpoint afterwards. Nothing is downloaded.

Like timm's `pretrained_cfg`, each entry's `ModelInfo` is the one place that knows the model's input: clip length
(`frames`), crop `size`, `sampling` and `frame_interval`, and the pixel normalisation its weights expect
(`input_mean` / `input_std`: CLIP's for CLIP-initialised models, Kinetics' for the rest). The data pipeline uses
these unless the config overrides them (`tabench.train.resolve_input`). Video-text models register through the
same decorator (`video_text=True`), so deciding the level of a run never needs a model built.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import torch
from torch import nn

from tabench import TabenchError

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}
_INFO: dict[str, "ModelInfo"] = {}

# Kinetics normalisation (PySlowFast / pytorchvideo defaults), for models trained from scratch or on Kinetics.
KINETICS_MEAN = (0.45, 0.45, 0.45)
KINETICS_STD = (0.225, 0.225, 0.225)
# OpenAI CLIP's normalisation: a model built on CLIP weights expects frames normalised this way.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
# ImageNet normalisation (torchvision), for 2D CNNs initialised from ImageNet weights.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SAMPLINGS = ("segment", "dense")


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What `tabench models show` prints. `frames`/`size`/`sampling` are the paper's config; `cpu_*` what runs
    on a laptop CPU. `pretrained` names the weights the paper's model starts from (what `--weights` expects)."""

    name: str
    family: str
    paper: str
    frames: int
    size: int
    cpu_frames: int
    cpu_size: int
    cpu_sized: bool  # True for the small models that train from scratch on 2 CPU cores in minutes
    input_mean: tuple[float, float, float] = KINETICS_MEAN
    input_std: tuple[float, float, float] = KINETICS_STD
    sampling: str = "segment"  # segment (TSN: one frame from each of T equal segments) | dense (T at an interval)
    frame_interval: int = 2  # for dense sampling
    video_text: bool = False  # label space given by texts (fine level possible)
    text_encoder: str = ""  # video-text models: "minilm" or "clip"
    pretrained: str = ""  # e.g. "CLIP ViT-B/16", "Kinetics-400 (PySlowFast)", "" = trained from scratch
    description: str = ""
    param_ref: str = ""  # the published parameter count we check against, e.g. "34.5M (MViTv2 paper, K400)"
    module: str = ""  # where the builder lives (e.g. tabench.models.videotext.xclip for video-text models)
    class_text: str = ""  # video-text models: the class-text mode used when the config sets none (tabench.classtext)
    uses_unseen_texts: bool = False  # video-text models that can train on unseen-class texts (`transductive`)

    # The names used before the registry carried the whole input config.
    @property
    def default_frames(self) -> int:
        return self.frames

    @property
    def default_size(self) -> int:
        return self.size

    @property
    def params_total(self) -> int:
        """Parameters of the model with a 400-way head (video-text: its label-space-free parameters), counted on
        the meta device (no memory, no initialisation)."""
        return _count_params(self.name)[0]

    @property
    def params_trainable(self) -> int:
        """Of `params_total`, those with requires_grad (frozen CLIP backbones of AIM, EZ-CLIP, ... excluded)."""
        return _count_params(self.name)[1]

    @property
    def params(self) -> int:
        return self.params_total

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["input_mean"], d["input_std"] = list(self.input_mean), list(self.input_std)
        d.update(params_total=self.params_total, params_trainable=self.params_trainable, params=self.params_total)
        return d


@functools.lru_cache(maxsize=None)
def _count_params(name: str) -> tuple[int, int]:
    with torch.device("meta"):
        model = _BUILDERS[name](num_classes=400)
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def _triple(name: str, key: str, value) -> tuple[float, float, float]:
    if not (isinstance(value, (list, tuple)) and len(value) == 3):
        raise ValueError(f"model {name!r}: {key} must be 3 numbers, got {value!r}")
    return tuple(float(v) for v in value)


def register_model(
    *,
    family: str,
    paper: str,
    default_frames: int,
    default_size: int,
    cpu_frames: int | None = None,
    cpu_size: int | None = None,
    cpu_sized: bool = False,
    input_mean=KINETICS_MEAN,
    input_std=KINETICS_STD,
    sampling: str = "segment",
    frame_interval: int = 2,
    video_text: bool = False,
    text_encoder: str = "",
    pretrained: str = "",
    param_ref: str = "",
    name: str | None = None,
    class_text: str = "",
    uses_unseen_texts: bool = False,
):
    """Decorator registering `builder(num_classes, **kw) -> nn.Module` under its function name (or `name`),
    with the facts of its input (see `ModelInfo`)."""

    def deco(builder: Callable[..., nn.Module]):
        key = name or builder.__name__
        if key in _BUILDERS:
            raise ValueError(f"model {key!r} is registered twice")
        if sampling not in SAMPLINGS:
            raise ValueError(f"model {key!r}: sampling must be one of {SAMPLINGS}, got {sampling!r}")
        doc = (builder.__doc__ or "").strip().splitlines()
        _BUILDERS[key] = builder
        _INFO[key] = ModelInfo(
            name=key,
            family=family,
            paper=paper,
            frames=int(default_frames),
            size=int(default_size),
            cpu_frames=int(cpu_frames or default_frames),
            cpu_size=int(cpu_size or default_size),
            cpu_sized=bool(cpu_sized),
            input_mean=_triple(key, "input_mean", input_mean),
            input_std=_triple(key, "input_std", input_std),
            sampling=sampling,
            frame_interval=int(frame_interval),
            video_text=bool(video_text),
            text_encoder=text_encoder,
            pretrained=pretrained,
            description=doc[0] if doc else "",
            param_ref=param_ref,
            module=builder.__module__,
            class_text=class_text or ("templates" if video_text else ""),
            uses_unseen_texts=bool(uses_unseen_texts),
        )
        return builder

    return deco


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_BUILDERS)


def _check(name: str) -> None:
    if name not in _BUILDERS:
        raise TabenchError(f"unknown model {name!r}; known models: {', '.join(list_models())}")


def model_info(name: str) -> ModelInfo:
    _check(name)
    return _INFO[name]


def create_model(name: str, num_classes: int, weights: str | None = None, strict: bool = True,
                 verbose: bool = True, **kw) -> nn.Module:
    """Build a registered model with a `num_classes`-way head; with `weights`, load a local checkpoint into it
    (`tabench.models.load_weights`; its report is printed, and kept on the model
    as `model.weights_report`)."""
    _check(name)
    if int(num_classes) < 1:
        raise TabenchError(f"num_classes must be >= 1, got {num_classes}")
    if weights is not None and _INFO[name].video_text:
        # video-text models: CLIP weights initialise the method (the CLIP loader), a trained X-CLIP or a method's own
        # released checkpoint is mapped onto its modules; always all-or-nothing (tabench.models.videotext.checkpoints)
        from tabench.models.videotext.checkpoints import create_with_weights

        return create_with_weights(name, _BUILDERS[name], int(num_classes), weights, verbose=verbose, **kw)
    model = _BUILDERS[name](num_classes=int(num_classes), **kw)
    if weights is not None:
        from tabench.models.weights import load_weights

        model.weights_report = load_weights(model, weights, strict=strict, verbose=verbose)
    return model
