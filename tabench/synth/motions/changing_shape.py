"""Changing shape (coarse 4): a still object turns into another shape.

A scene holds one shape per object and frame, so the change is shown as a quick squash: the object
flattens and widens while turning, swaps shape at the flattest moment and springs back up. Its size stays
the same, so the change does not read as shrinking or expanding.
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._layout import pick_shape, pick_shapes, require_shape
from tabench.synth.motions._timing import bump, ramp
from tabench.synth.motions._tracks import describe, standing_objects, to_clip
from tabench.synth.motions._util import timeline


def _morph(obj, t, shapes: list[str], times: list[float], width: float, yaw0: float):
    """Give `obj` shapes[0] until times[0], shapes[1] until times[1], ...; squash and turn around each swap."""
    idx = np.searchsorted(np.asarray(times), t, side="right")
    obj.shape = [shapes[i] for i in idx]
    squash = sum(bump(t, tm - width / 2, tm + width / 2) for tm in times)
    obj.scale = np.c_[1 + 0.3 * squash, 1 + 0.3 * squash, 1 - 0.7 * squash]
    obj.position = obj.position.copy()
    obj.position[:, 2] = obj.size * obj.scale[:, 2]  # stays on the ground while squashed
    turns = sum(ramp(t, tm - width / 2, tm + width / 2) for tm in times)
    obj.rotation = np.c_[np.zeros_like(t), np.zeros_like(t), yaw0 + 0.5 * np.pi * turns]


def _change_into(rng, ctx, target: str):
    require_shape(ctx, target)
    t = timeline(ctx.num_frames)
    (obj,) = standing_objects(rng, ctx, 1, x=(-2.0, 2.0), y=(-1.5, 2.0))
    start = pick_shape(rng, ctx, exclude=(target,))
    tm, width = rng.uniform(0.35, 0.6), rng.uniform(0.15, 0.25)
    _morph(obj, t, [start, target], [tm], width, obj.rotation[0, 2])
    return to_clip([obj], {"objects": describe([obj]), "from": start, "to": target,
                                              "change_at": tm, "change_width": width})


@motion("single_object_of_other_shape_changes_into_pyramid")
def changes_into_pyramid(rng, ctx):
    return _change_into(rng, ctx, "pyramid")


@motion("single_object_of_other_shape_changes_into_cube")
def changes_into_cube(rng, ctx):
    return _change_into(rng, ctx, "cube")


@motion("single_object_of_other_shape_changes_into_sphere")
def changes_into_sphere(rng, ctx):
    return _change_into(rng, ctx, "sphere")


@motion("single_object_of_other_shape_changes_into_cylinder")
def changes_into_cylinder(rng, ctx):
    return _change_into(rng, ctx, "cylinder")


@motion("two_objects_changing_shapes_by_switching_with_each_other")
def two_objects_switching_shapes(rng, ctx):
    t = timeline(ctx.num_frames)
    objs = standing_objects(rng, ctx, 2)
    a, b = pick_shapes(rng, ctx, 2, distinct=True)
    tm, width = rng.uniform(0.35, 0.6), rng.uniform(0.15, 0.25)
    _morph(objs[0], t, [a, b], [tm], width, objs[0].rotation[0, 2])
    _morph(objs[1], t, [b, a], [tm], width, objs[1].rotation[0, 2])
    return to_clip(objs, {"objects": describe(objs), "shapes": [a, b], "change_at": tm,
                                             "change_width": width})


@motion("single_object_changing_into_another_shape_then_turning_back_to_original_shape")
def changes_shape_and_back(rng, ctx):
    t = timeline(ctx.num_frames)
    (obj,) = standing_objects(rng, ctx, 1, x=(-2.0, 2.0), y=(-1.5, 2.0))
    a, b = pick_shapes(rng, ctx, 2, distinct=True)
    width = rng.uniform(0.12, 0.18)
    t1 = rng.uniform(0.2, 0.35)
    t2 = t1 + rng.uniform(0.3, 0.4)
    _morph(obj, t, [a, b, a], [t1, t2], width, obj.rotation[0, 2])
    return to_clip([obj], {"objects": describe([obj]), "shapes": [a, b, a], "change_at": [t1, t2],
                                              "change_width": width})
