"""Departing (coarse 6): objects at rest start moving, speed up and leave the view (arriving reversed)."""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._layout import offstage_x
from tabench.synth.motions._tracks import describe, to_clip
from tabench.synth.motions._travel import among_many, beside_pair, lane_group, mover_track, travel_window, travel_x
from tabench.synth.motions._util import timeline


@motion("single_object_departing")
def single_object_departing(rng, ctx):
    tracks, params = lane_group(rng, ctx, 1, inward=False, one_by_one=False)
    return to_clip(tracks, params)


@motion("multiple_objects_departing_simultaneously")
def multiple_objects_departing_simultaneously(rng, ctx):
    tracks, params = lane_group(rng, ctx, int(rng.integers(2, 4)), inward=False, one_by_one=False)
    return to_clip(tracks, params)


@motion("multiple_objects_departing_one_by_one")
def multiple_objects_departing_one_by_one(rng, ctx):
    tracks, params = lane_group(rng, ctx, 3, inward=False, one_by_one=True)
    return to_clip(tracks, params)


@motion("single_object_departing_beside_another_single_object")
def single_object_departing_beside_another(rng, ctx):
    t = timeline(ctx.num_frames)
    shape, size, color, x_rest, y, side, other = beside_pair(rng, ctx)
    t0, t1 = travel_window(rng, inward=False)
    mover = mover_track(ctx.num_frames, shape, size, color, travel_x(t, x_rest, offstage_x(y, side, ctx.camera), t0, t1, False), y)
    return to_clip([mover, other],
                      {"side": side, "window": [t0, t1], "objects": describe([mover, other]), "rest_x": x_rest})


@motion("single_object_departing_beside_another_single_object_then_coming_back_shortly")
def single_object_departing_then_coming_back(rng, ctx):
    """Leaves the other object's side, is out of view only briefly, and returns to the same place."""
    t = timeline(ctx.num_frames)
    shape, size, color, x_rest, y, side, other = beside_pair(rng, ctx)
    x_off = offstage_x(y, side, ctx.camera)
    d0 = rng.uniform(0.1, 0.18)
    d1 = d0 + rng.uniform(0.28, 0.32)
    a0 = d1 + rng.uniform(0.03, 0.08)  # out of view only for a moment: "shortly"
    a1 = a0 + rng.uniform(0.28, 0.32)
    x = np.where(t < d1, travel_x(t, x_rest, x_off, d0, d1, False), travel_x(t, x_rest, x_off, a0, a1, True))
    mover = mover_track(ctx.num_frames, shape, size, color, x, y)
    return to_clip([mover, other], {"side": side, "leave": [d0, d1], "return": [a0, a1],
                                                       "objects": describe([mover, other]), "rest_x": x_rest})


@motion("single_object_departing_among_many_objects")
def single_object_departing_among_many(rng, ctx):
    t = timeline(ctx.num_frames)
    shape, size, color, x_rest, y, side, still = among_many(rng, ctx)
    t0, t1 = travel_window(rng, inward=False)
    mover = mover_track(ctx.num_frames, shape, size, color, travel_x(t, x_rest, offstage_x(y, side, ctx.camera), t0, t1, False), y)
    return to_clip([mover, *still],
                      {"side": side, "window": [t0, t1], "objects": describe([mover, *still]), "rest_x": x_rest})
