"""Model registry: names map to plain nn.Module builders plus the facts a user needs before building one.

Architecture is kept apart from weights (timm style): a builder only constructs a randomly initialised
network; `create_model(..., weights=PATH)` loads a local checkpoint afterwards. Nothing is downloaded.
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


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What `tabench models info` shows. `default_*` is the paper's config; `cpu_*` what runs on a laptop CPU."""

    name: str
    family: str
    paper: str
    default_frames: int
    default_size: int
    cpu_frames: int
    cpu_size: int
    cpu_sized: bool  # True for the small models that train from scratch on 2 CPU cores in minutes
    description: str = ""
    param_ref: str = ""  # the published parameter count we check against, e.g. "34.5M (MViTv2 paper, K400)"
    module: str = ""  # where the builder lives (e.g. tabench.models.videotext.xclip for video-text models)

    @property
    def params(self) -> int:
        """Parameters of the full model with a 400-way head, counted on the meta device (no memory, no init)."""
        return _count_params(self.name)

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["params"] = self.params
        return d


@functools.lru_cache(maxsize=None)
def _count_params(name: str) -> int:
    with torch.device("meta"):
        model = _BUILDERS[name](num_classes=400)
    return sum(p.numel() for p in model.parameters())


def register_model(
    *,
    family: str,
    paper: str,
    default_frames: int,
    default_size: int,
    cpu_frames: int | None = None,
    cpu_size: int | None = None,
    cpu_sized: bool = False,
    param_ref: str = "",
    name: str | None = None,
):
    """Decorator registering `builder(num_classes, **kw) -> nn.Module` under its function name (or `name`)."""

    def deco(builder: Callable[..., nn.Module]):
        key = name or builder.__name__
        if key in _BUILDERS:
            raise ValueError(f"model {key!r} is registered twice")
        doc = (builder.__doc__ or "").strip().splitlines()
        _BUILDERS[key] = builder
        _INFO[key] = ModelInfo(
            name=key,
            family=family,
            paper=paper,
            default_frames=default_frames,
            default_size=default_size,
            cpu_frames=cpu_frames or default_frames,
            cpu_size=cpu_size or default_size,
            cpu_sized=cpu_sized,
            description=doc[0] if doc else "",
            param_ref=param_ref,
            module=builder.__module__,
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


def create_model(name: str, num_classes: int, weights: str | None = None, **kw) -> nn.Module:
    """Build a registered model with a `num_classes`-way head; with `weights`, load a local checkpoint into it
    (see `tabench.models.load_weights`; its report is printed)."""
    _check(name)
    if int(num_classes) < 1:
        raise TabenchError(f"num_classes must be >= 1, got {num_classes}")
    model = _BUILDERS[name](num_classes=int(num_classes), **kw)
    if weights is not None:
        from tabench.models.weights import load_weights

        load_weights(model, weights, strict=False, verbose=True)
    return model
