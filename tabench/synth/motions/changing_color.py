"""Changing color (coarse 3): still objects whose colour changes over time as the class names it."""
from __future__ import annotations

import colorsys

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._timing import ramp
from tabench.synth.motions._tracks import describe, standing_objects, to_clip
from tabench.synth.motions._util import distinct_colors, lerp, timeline


def _blend(t, c0, c1, t0, t1) -> np.ndarray:
    """(n, 3) colours going smoothly from c0 to c1 within [t0, t1]."""
    return lerp(c0, c1, ramp(t, t0, t1))


@motion("single_object_keeps_changing_colors")
def single_object_keeps_changing_colors(rng, ctx):
    """A sequence of 4-6 well-separated colours, each held briefly, changing until the clip ends."""
    t = timeline(ctx.num_frames)
    (obj,) = standing_objects(rng, ctx, 1, x=(-2.0, 2.0), y=(-1.5, 2.0))
    k = int(rng.integers(4, 7))
    colors = np.array(distinct_colors(rng, k))[rng.permutation(k)]
    f = np.clip(t * k, 0, k - 1e-9)
    j = f.astype(int)
    mix = ramp(f - j, 0.6, 1.0)
    mix[j == k - 1] = 0.0  # the last colour is held to the end
    nxt = np.minimum(j + 1, k - 1)
    obj.color = colors[j] + (colors[nxt] - colors[j]) * mix[:, None]
    return to_clip([obj], {"objects": describe([obj]), "colors": colors})


@motion("two_objects_changing_colors_by_switching_with_each_other")
def two_objects_switching_colors(rng, ctx):
    t = timeline(ctx.num_frames)
    objs = standing_objects(rng, ctx, 2)
    a, b = np.array(objs[0].color), np.array(objs[1].color)
    t0 = rng.uniform(0.3, 0.45)
    t1 = t0 + rng.uniform(0.15, 0.25)
    objs[0].color, objs[1].color = _blend(t, a, b, t0, t1), _blend(t, b, a, t0, t1)
    return to_clip(objs, {"objects": describe(objs), "switch": [t0, t1]})


def _value_change(rng, ctx, v0: float, v1: float):
    """One object whose brightness (HSV value) goes from v0 to v1 at a fixed hue and saturation."""
    t = timeline(ctx.num_frames)
    (obj,) = standing_objects(rng, ctx, 1, x=(-2.0, 2.0), y=(-1.5, 2.0))
    hue, sat = rng.uniform(0, 1), rng.uniform(0.6, 0.9)
    t0, t1 = rng.uniform(0.1, 0.3), rng.uniform(0.7, 0.85)
    v = v0 + (v1 - v0) * ramp(t, t0, t1)
    obj.color = np.array([colorsys.hsv_to_rgb(hue, sat, vi) for vi in v])
    return to_clip([obj], {"objects": describe([obj]), "hue": hue, "saturation": sat,
                                              "value": [v0, v1], "change": [t0, t1]})


@motion("single_object_changing_from_bright_to_dark_color")
def single_object_bright_to_dark(rng, ctx):
    return _value_change(rng, ctx, rng.uniform(0.9, 1.0), rng.uniform(0.1, 0.22))


@motion("single_object_changing_from_dark_to_bright_color")
def single_object_dark_to_bright(rng, ctx):
    return _value_change(rng, ctx, rng.uniform(0.1, 0.22), rng.uniform(0.9, 1.0))


@motion("single_object_changing_color_then_returning_to_previous_one")
def single_object_color_and_back(rng, ctx):
    t = timeline(ctx.num_frames)
    (obj,) = standing_objects(rng, ctx, 1, x=(-2.0, 2.0), y=(-1.5, 2.0))
    first, other = (np.array(c) for c in distinct_colors(rng, 2))
    a0 = rng.uniform(0.1, 0.2)
    a1 = a0 + rng.uniform(0.12, 0.18)
    b0 = a1 + rng.uniform(0.2, 0.3)  # hold the new colour a while
    b1 = b0 + rng.uniform(0.12, 0.18)
    obj.color = np.where((t < b0)[:, None], _blend(t, first, other, a0, a1), _blend(t, other, first, b0, b1))
    return to_clip([obj], {"objects": describe([obj]), "colors": [first, other],
                                              "change": [a0, a1], "return": [b0, b1]})
