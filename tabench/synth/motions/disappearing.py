"""Disappearing (coarse 7): still objects fade out from opaque to fully transparent."""
from __future__ import annotations

from tabench.synth.motions import motion
from tabench.synth.motions._timing import ramp
from tabench.synth.motions._tracks import describe, standing_objects, to_clip
from tabench.synth.motions._util import timeline


def _fade_out(t, t0, t1):
    return 1.0 - ramp(t, t0, t1)


@motion("single_object_disappearing_by_decreasing_opacity")
def single_object_disappearing(rng, ctx):
    t = timeline(ctx.num_frames)
    (obj,) = standing_objects(rng, ctx, 1, x=(-2.0, 2.0), y=(-1.5, 2.0))
    t0, t1 = rng.uniform(0.2, 0.4), rng.uniform(0.75, 0.95)
    obj.opacity = _fade_out(t, t0, t1)
    return to_clip([obj], {"objects": describe([obj]), "fade": [t0, t1]})


@motion("multiple_objects_all_disappearing_simultaneously_by_decreasing_opacity")
def multiple_objects_disappearing_simultaneously(rng, ctx):
    t = timeline(ctx.num_frames)
    objs = standing_objects(rng, ctx, int(rng.integers(3, 6)))
    t0, t1 = rng.uniform(0.2, 0.4), rng.uniform(0.75, 0.95)
    for obj in objs:
        obj.opacity = _fade_out(t, t0, t1)  # one shared fade window: simultaneous
    return to_clip(objs, {"objects": describe(objs), "fade": [t0, t1]})


@motion("multiple_objects_all_disappearing_one_by_one_by_decreasing_opacity")
def multiple_objects_disappearing_one_by_one(rng, ctx):
    t = timeline(ctx.num_frames)
    k = int(rng.integers(3, 5))
    objs = standing_objects(rng, ctx, k)
    step = rng.uniform(0.8, 0.88) / k  # each fade starts once the previous one is (nearly) done
    start = rng.uniform(0.08, 0.12)
    windows = [(start + i * step, start + i * step + 0.9 * step) for i in range(k)]
    for obj, (t0, t1) in zip(objs, windows):
        obj.opacity = _fade_out(t, t0, t1)
    return to_clip(objs, {"objects": describe(objs), "fades": windows})


@motion("multiple_objects_some_disappearing_and_some_remaining")
def some_disappearing_some_remaining(rng, ctx):
    t = timeline(ctx.num_frames)
    k = int(rng.integers(4, 6))
    objs = standing_objects(rng, ctx, k)
    leaving = sorted(int(i) for i in rng.choice(k, size=int(rng.integers(2, k - 1)), replace=False))
    t0, t1 = rng.uniform(0.2, 0.4), rng.uniform(0.7, 0.9)
    for i, obj in enumerate(objs):
        obj.opacity = _fade_out(t, t0, t1) if i in leaving else 1.0
    return to_clip(objs, {"objects": describe(objs), "disappearing": leaving, "fade": [t0, t1]})
