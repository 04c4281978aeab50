"""Appearing (coarse 0): still objects fade in from fully transparent to opaque."""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._layout import FOOTPRINT, rand_size
from tabench.synth.motions._timing import ramp
from tabench.synth.motions._tracks import describe, standing_objects, to_clip
from tabench.synth.motions._util import timeline


@motion("single_object_appearing_by_increasing_opacity")
def single_object_appearing(rng, ctx):
    t = timeline(ctx.num_frames)
    (obj,) = standing_objects(rng, ctx, 1, x=(-2.0, 2.0), y=(-1.5, 2.0))
    t0, t1 = rng.uniform(0.05, 0.25), rng.uniform(0.6, 0.8)
    obj.opacity = ramp(t, t0, t1)
    return to_clip([obj], {"objects": describe([obj]), "fade": [t0, t1]})


@motion("multiple_objects_all_appearing_simultaneously_by_increasing_opacity")
def multiple_objects_appearing_simultaneously(rng, ctx):
    t = timeline(ctx.num_frames)
    objs = standing_objects(rng, ctx, int(rng.integers(3, 6)))
    t0, t1 = rng.uniform(0.05, 0.25), rng.uniform(0.6, 0.8)
    for obj in objs:
        obj.opacity = ramp(t, t0, t1)  # one shared fade window: simultaneous
    return to_clip(objs, {"objects": describe(objs), "fade": [t0, t1]})


@motion("multiple_objects_all_appearing_one_by_one_by_increasing_opacity")
def multiple_objects_appearing_one_by_one(rng, ctx):
    t = timeline(ctx.num_frames)
    k = int(rng.integers(3, 5))
    objs = standing_objects(rng, ctx, k)
    step = rng.uniform(0.8, 0.88) / k  # each fade starts once the previous one is (nearly) done
    start = rng.uniform(0.03, 0.08)
    windows = [(start + i * step, start + i * step + 0.9 * step) for i in range(k)]
    for obj, (t0, t1) in zip(objs, windows):
        obj.opacity = ramp(t, t0, t1)
    return to_clip(objs, {"objects": describe(objs), "fades": windows})


@motion("two_objects_appearing_among_two_other_objects")
def two_objects_appearing_among_two_others(rng, ctx):
    """Four places in a row (the middle two appear) or on a square (one diagonal appears)."""
    t = timeline(ctx.num_frames)
    sizes = [rand_size(rng, 0.45, 0.52) for _ in range(4)]
    spacing = max(sizes) * 2 * FOOTPRINT + rng.uniform(0.3, 0.5)
    layout = str(rng.choice(["row", "square"]))
    angle = rng.uniform(-0.4, 0.4)
    if layout == "row":
        local = np.c_[(np.arange(4) - 1.5) * spacing, np.zeros(4)]
        appear = [1, 2]
    else:
        local = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * spacing / 2
        appear = [0, 2] if rng.uniform() < 0.5 else [1, 3]
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    xy = local @ rot.T + rng.uniform([-0.4, -0.8], [0.4, 1.2])
    objs = standing_objects(rng, ctx, 4, sizes=sizes, xy=xy)
    t0, t1 = rng.uniform(0.1, 0.3), rng.uniform(0.6, 0.8)
    for i, obj in enumerate(objs):
        obj.opacity = ramp(t, t0, t1) if i in appear else 1.0
    return to_clip(objs, {"objects": describe(objs), "layout": layout, "appearing": appear,
                                             "fade": [t0, t1]})
