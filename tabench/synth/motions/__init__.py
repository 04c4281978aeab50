"""Motion programs: one small function per Syn-TA fine class, from random parameters to per-frame states.

A program is registered under its fine-class slug (see `tabench/taxonomy/data/syn-ta.json`):

    @motion("single_object_falling_at_an_angle")
    def falling_at_an_angle(rng, ctx):
        ...
        return Clip(frames=[{0: ObjectState(...)}, ...], params={...})

Contract: return exactly `ctx.num_frames` frames; use only `ctx.shapes` (the set's shape pool) for objects;
draw every random choice from `rng` (so a clip is reproducible from its seed); keep objects on screen for
the camera described in `tabench.synth.scene` unless the motion is about leaving (x, y in about [-3.5, 3.5],
z in [0, 4]); directions are in the stage frame (+x is the viewer's right, +z up, +y away from the viewer).
Programs are grouped one file per coarse class.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tabench.synth.scene import Camera, Clip

MotionFn = Callable[[np.random.Generator, "MotionContext"], Clip]
MOTIONS: dict[str, MotionFn] = {}


@dataclass(frozen=True)
class MotionContext:
    set_id: int
    shapes: tuple[str, ...]  # the shape pool of the set (scene.SET_SHAPES[set_id])
    num_frames: int
    fps: int = 24
    # The video's camera. Programs whose class names a relation to the viewer ("in front of") check their
    # layout against it; all others ignore it (their layout is the same from every camera).
    camera: Camera | None = None


def motion(slug: str) -> Callable[[MotionFn], MotionFn]:
    def register(fn: MotionFn) -> MotionFn:
        if slug in MOTIONS:
            raise ValueError(f"motion {slug!r} registered twice")
        MOTIONS[slug] = fn
        return fn

    return register


def _load_all() -> None:
    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")


def get_motion(slug: str) -> MotionFn:
    if not MOTIONS:
        _load_all()
    try:
        return MOTIONS[slug]
    except KeyError:
        raise KeyError(f"no motion program for fine class {slug!r}") from None


def all_motions() -> dict[str, MotionFn]:
    if not MOTIONS:
        _load_all()
    return dict(MOTIONS)
