"""Import pytorchvideo's model builders although torchvision is not installed.

pytorchvideo 0.1.5 imports `torchvision.ops.RoIAlign` at module level (only its detection heads use it), and
torchvision cannot be installed next to the pinned CPU torch here. We register a placeholder `torchvision.ops`
just for the duration of that import and remove it again, so no other library ever sees a fake torchvision.
The placeholder RoIAlign refuses to be constructed: detection heads are not used by tabench.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types


class _NoRoIAlign:
    def __init__(self, *a, **k):
        raise RuntimeError("RoIAlign needs torchvision, which tabench does not use")


def pytorchvideo_models():
    """Return (resnet, x3d, slowfast) builder modules of pytorchvideo.models."""
    if "pytorchvideo.models.head" not in sys.modules and importlib.util.find_spec("torchvision") is None:
        tv, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
        ops.RoIAlign = _NoRoIAlign
        tv.ops = ops
        sys.modules["torchvision"], sys.modules["torchvision.ops"] = tv, ops
        try:
            importlib.import_module("pytorchvideo.models.head")
        finally:
            for k in ("torchvision.ops", "torchvision"):
                if sys.modules.get(k) in (tv, ops):
                    del sys.modules[k]
    from pytorchvideo.models import resnet, slowfast, x3d

    return resnet, x3d, slowfast
