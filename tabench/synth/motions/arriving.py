"""Arriving (coarse 1): objects enter from outside the view, slow down and come to rest on the stage."""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._layout import offstage_x
from tabench.synth.motions._tracks import describe, to_clip
from tabench.synth.motions._travel import among_many, beside_pair, lane_group, mover_track, travel_window, travel_x
from tabench.synth.motions._util import timeline


@motion("single_object_arriving")
def single_object_arriving(rng, ctx):
    tracks, params = lane_group(rng, ctx, 1, inward=True, one_by_one=False)
    return to_clip(tracks, params)


@motion("multiple_objects_arriving_simultaneously")
def multiple_objects_arriving_simultaneously(rng, ctx):
    tracks, params = lane_group(rng, ctx, int(rng.integers(2, 4)), inward=True, one_by_one=False)
    return to_clip(tracks, params)


@motion("multiple_objects_arriving_one_by_one")
def multiple_objects_arriving_one_by_one(rng, ctx):
    tracks, params = lane_group(rng, ctx, 3, inward=True, one_by_one=True)
    return to_clip(tracks, params)


@motion("single_object_arriving_beside_another_single_object")
def single_object_arriving_beside_another(rng, ctx):
    t = timeline(ctx.num_frames)
    shape, size, color, x_rest, y, side, other = beside_pair(rng, ctx)
    t0, t1 = travel_window(rng, inward=True)
    mover = mover_track(ctx.num_frames, shape, size, color, travel_x(t, x_rest, offstage_x(y, side, ctx.camera), t0, t1, True), y)
    return to_clip([mover, other],
                      {"side": side, "window": [t0, t1], "objects": describe([mover, other]), "rest_x": x_rest})


@motion("single_object_arriving_beside_another_single_object_pausing_then_going_away")
def single_object_arriving_pausing_going_away(rng, ctx):
    """Arrives beside the other object, waits, then leaves the way it came."""
    t = timeline(ctx.num_frames)
    shape, size, color, x_rest, y, side, other = beside_pair(rng, ctx)
    x_off = offstage_x(y, side, ctx.camera)
    a0, a1 = rng.uniform(0.0, 0.05), rng.uniform(0.3, 0.38)
    d0, d1 = a1 + rng.uniform(0.18, 0.28), rng.uniform(0.92, 0.98)
    x = np.where(t < d0, travel_x(t, x_rest, x_off, a0, a1, True), travel_x(t, x_rest, x_off, d0, d1, False))
    mover = mover_track(ctx.num_frames, shape, size, color, x, y)
    return to_clip([mover, other], {"side": side, "arrive": [a0, a1], "leave": [d0, d1],
                                                       "objects": describe([mover, other]), "rest_x": x_rest})


@motion("single_object_arriving_among_many_objects")
def single_object_arriving_among_many(rng, ctx):
    t = timeline(ctx.num_frames)
    shape, size, color, x_rest, y, side, still = among_many(rng, ctx)
    t0, t1 = travel_window(rng, inward=True)
    mover = mover_track(ctx.num_frames, shape, size, color, travel_x(t, x_rest, offstage_x(y, side, ctx.camera), t0, t1, True), y)
    return to_clip([mover, *still],
                      {"side": side, "window": [t0, t1], "objects": describe([mover, *still]), "rest_x": x_rest})
