"""The tabench model zoo: the paper's 8 unimodal models at full size plus small CPU-sized models.

    from tabench.models import create_model
    model = create_model("r3d_tiny", num_classes=5)      # x: (B, 3, T, H, W) -> logits (B, 5)
    model.default_frames, model.default_size             # what to feed it

Every module in this package (and in sub-packages such as `videotext/`) whose name does not start with "_" is
imported on first use of the package, so a new architecture file only needs `@register_model`.
"""
from __future__ import annotations

import importlib
import pkgutil
import warnings

from tabench.models._base import VideoClassifier
from tabench.models._registry import (CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD, KINETICS_MEAN, KINETICS_STD,
                                      ModelInfo, create_model, list_models, model_info, register_model)
from tabench.models.weights import WeightsReport, load_weights

# The model `tabench` trains when none is named on a CPU. rgbdiff_tiny: frame differences cancel Syn-TA's static
# background photo, and a per-frame CNN whose coarse spatial grid is kept (not pooled away) turns trajectories into
# temporal patterns; from scratch on 2 cores it reaches ~80 % known-context accuracy where r3d_tiny (a 3D CNN with
# global pooling) stays at chance in the same budget (docs/results.md, "Choosing the default CPU model").
# Throughput: benchmarks/README.md, "Model throughput (CPU)".
DEFAULT_CPU_MODEL = "rgbdiff_tiny"

__all__ = ["CLIP_MEAN", "CLIP_STD", "DEFAULT_CPU_MODEL", "IMAGENET_MEAN", "IMAGENET_STD", "KINETICS_MEAN", "KINETICS_STD",
           "ModelInfo", "VideoClassifier", "WeightsReport", "create_model", "list_models",
           "load_weights", "model_info", "register_model"]


def _import_architectures() -> None:
    """Import every public module so its `@register_model` builders register. A sub-package that cannot be
    imported (e.g. a missing optional dependency) is reported with a warning instead of hiding the whole zoo."""

    def onerror(name):
        warnings.warn(f"tabench.models: could not import {name}", stacklevel=2)

    for mod in pkgutil.walk_packages(__path__, prefix=f"{__name__}.", onerror=onerror):
        if mod.name.rsplit(".", 1)[-1].startswith("_") or mod.name == f"{__name__}.weights":
            continue
        try:
            importlib.import_module(mod.name)
        except ImportError as e:
            if not mod.ispkg and mod.name.count(".") == 2:  # our own architecture files must import
                raise
            warnings.warn(f"tabench.models: skipped {mod.name}: {e}", stacklevel=2)


_import_architectures()

from tabench.models.disentangle import register_all as _register_disentangled  # noqa: E402

_register_disentangled()  # `<model>_disentangle` for the supported models, once they are all registered
