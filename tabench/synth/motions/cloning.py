"""Cloning (coarse 5): copies emerge from a single object and move out of it.

A clone is born (its id enters the frames) at its parent's place with the parent's shape, size, colour and
turn, so it first coincides with the parent, and then slides away. This is the one class where objects
overlap, for the moment of the split.
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._layout import FOOTPRINT, GAP, LayoutError, pick_shape, rand_size, rand_yaw, screen_shift
from tabench.synth.motions._timing import ramp
from tabench.synth.motions._tracks import Track, to_clip
from tabench.synth.motions._util import distinct_colors, lerp, random_color, timeline

BOX = ((-3.0, 3.0), (-2.5, 3.0))  # where cloned objects may go


def _unit(angle: float) -> np.ndarray:
    return np.array([np.cos(angle), np.sin(angle)])


def _origin(rng, offsets: np.ndarray) -> np.ndarray:
    """A start place such that start + every offset (k, 2) stays inside BOX."""
    lo = np.array([BOX[0][0], BOX[1][0]]) - offsets.min(axis=0)
    hi = np.array([BOX[0][1], BOX[1][1]]) - offsets.max(axis=0)
    if (lo > hi).any():
        raise RuntimeError("the cloning layout does not fit the stage")
    return rng.uniform(lo, hi)


def _object(rng, ctx):
    size = rand_size(rng, 0.45, 0.6)
    return {"shape": pick_shape(rng, ctx), "size": size, "color": random_color(rng), "rotation": rand_yaw(rng)}


def _path(t, origin, waypoints):
    """Ground path (n, 3) from origin through (time window, offset) waypoints, eased per leg."""
    xy = np.tile(origin, (len(t), 1)).astype(float)
    prev = np.zeros(2)
    for (t0, t1), off in waypoints:
        xy += np.outer(ramp(t, t0, t1), np.asarray(off) - prev)
        prev = np.asarray(off)
    return xy


def _track(obj, xy, born=None, t=None, color=None) -> Track:
    pos = np.c_[xy, np.full(len(xy), obj["size"])]
    alive = None if born is None else t >= born
    return Track(shape=obj["shape"], size=obj["size"], position=pos, color=obj["color"] if color is None else color,
                 rotation=obj["rotation"], alive=alive)


def _born_at(t, t_birth: float) -> float:
    """Snap a birth time onto the first frame at or after it, so the clone's first frame is at its parent."""
    return float(t[np.searchsorted(t, t_birth)])


def _parting(rng, ctx, ends, least: float) -> np.ndarray:
    """A random ground direction d for which the two places `ends(d)` are at least `least` frame widths
    apart on screen from the video's camera: from the nearly level front view, clones parting along the
    line of sight would stand one behind the other."""
    for _ in range(500):
        d = _unit(rng.uniform(0, 2 * np.pi))
        if screen_shift(ctx, *ends(d)) >= least:
            return d
    raise LayoutError("no direction parts the clones on screen from this camera")


@motion("single_object_cloning_into_two_identical_objects_both_going_in_same_direction")
def cloning_two_same_direction(rng, ctx):
    """Split sideways, then both travel the same way side by side."""
    t = timeline(ctx.num_frames)
    obj = _object(rng, ctx)
    half = obj["size"] * FOOTPRINT + GAP / 2 + rng.uniform(0.1, 0.3)
    travel = rng.uniform(2.0, 3.0)
    # side by side on screen (not one behind the other) and travelling visibly across the picture
    d = _parting(rng, ctx, lambda d: (half * np.array([-d[1], d[0]]), -half * np.array([-d[1], d[0]])), 0.06)
    while screen_shift(ctx, [0.0, 0.0], travel * d) < 0.1:
        d = _parting(rng, ctx, lambda d: (half * np.array([-d[1], d[0]]), -half * np.array([-d[1], d[0]])), 0.06)
    perp = np.array([-d[1], d[0]])
    offsets = np.array([half * perp, -half * perp, half * perp + travel * d, -half * perp + travel * d, [0, 0]])
    origin = _origin(rng, offsets)
    tc = _born_at(t, rng.uniform(0.15, 0.3))
    ts = tc + rng.uniform(0.15, 0.2)
    te = rng.uniform(0.85, 0.95)
    parent = _path(t, origin, [((tc, ts), -half * perp), ((ts, te), -half * perp + travel * d)])
    clone = _path(t, origin, [((tc, ts), half * perp), ((ts, te), half * perp + travel * d)])
    tracks = [_track(obj, parent), _track(obj, clone, tc, t)]
    return to_clip(tracks, {"object": obj, "origin": origin, "direction": d, "travel": travel,
                                               "split": [tc, ts], "move_until": te})


@motion("single_object_cloning_into_two_identical_objects_both_going_in_different_directions")
def cloning_two_different_directions(rng, ctx):
    """The two part 120-180 degrees apart, far enough apart on screen from the video's camera (a quarter of
    the picture): from the nearly level front view, parting towards and away from the camera hardly shows."""
    t = timeline(ctx.num_frames)
    obj = _object(rng, ctx)
    for _ in range(200):
        a = rng.uniform(0, 2 * np.pi)
        spread = rng.uniform(np.radians(120), np.pi)
        d1, d2 = _unit(a), _unit(a + spread)
        travel = rng.uniform(1.8, 2.6)
        if screen_shift(ctx, travel * d1, travel * d2) >= 0.25:
            break
    else:
        raise LayoutError("no parting directions show on screen from this camera")
    origin = _origin(rng, np.array([travel * d1, travel * d2, [0, 0]]))
    tc = _born_at(t, rng.uniform(0.15, 0.3))
    te = rng.uniform(0.8, 0.92)
    tracks = [_track(obj, _path(t, origin, [((tc, te), travel * d1)])),
              _track(obj, _path(t, origin, [((tc, te), travel * d2)]), tc, t)]
    return to_clip(tracks, {"object": obj, "origin": origin, "directions": [d1, d2],
                                               "travel": travel, "split": [tc, te]})


def _ring(rng, ctx, one_by_one: bool):
    """The parent stays; 3-4 clones slide out to places on a ring around it, together or one after another."""
    t = timeline(ctx.num_frames)
    obj = _object(rng, ctx)
    k = int(rng.integers(3, 5))
    radius = 2 * obj["size"] * FOOTPRINT + GAP + rng.uniform(0.2, 0.5)
    angles = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(k) / k + rng.uniform(-0.15, 0.15, size=k)
    angles = angles[rng.permutation(k)]  # the order in which they are born goes round in no fixed way
    offsets = radius * np.c_[np.cos(angles), np.sin(angles)]
    origin = _origin(rng, np.r_[offsets, [[0, 0]]])
    if one_by_one:
        step = rng.uniform(0.8, 0.85) / k
        births = [_born_at(t, 0.08 + i * step) for i in range(k)]
        slide = 0.8 * step
    else:
        births = [_born_at(t, rng.uniform(0.2, 0.35))] * k
        slide = rng.uniform(0.25, 0.4)
    tracks = [_track(obj, _path(t, origin, []))]
    tracks += [_track(obj, _path(t, origin, [((b, b + slide), off)]), b, t) for b, off in zip(births, offsets)]
    return to_clip(tracks, {"object": obj, "origin": origin, "clone_offsets": offsets,
                                               "births": births, "slide": slide})


@motion("single_object_cloning_into_multiple_identical_objects_one_by_one")
def cloning_multiple_one_by_one(rng, ctx):
    return _ring(rng, ctx, one_by_one=True)


@motion("single_object_cloning_into_multiple_identical_objects_at_once")
def cloning_multiple_at_once(rng, ctx):
    return _ring(rng, ctx, one_by_one=False)


@motion("single_object_cloning_into_one_identical_object_and_another_object_with_different_colour")
def cloning_identical_and_recoloured(rng, ctx):
    """As in the paper's script: the object stays; first an identical clone slides out to one side, then a
    second clone slides out to the other side and takes a clearly different colour as it moves (it starts
    identical, so the split itself shows no colour seam). Three objects at the end, side by side on screen."""
    t = timeline(ctx.num_frames)
    obj = _object(rng, ctx)
    obj["color"], other = distinct_colors(rng, 2)
    half = 2 * obj["size"] * FOOTPRINT + GAP + rng.uniform(0.1, 0.3)  # centre distance clone <-> original
    # from a far, high camera small objects parting by `half` stay under 0.2 of the picture apart in every
    # direction: they slide further there (at most ~2.2 units, which the stage holds in every direction)
    widest = max(screen_shift(ctx, half * _unit(a), -half * _unit(a))
                 for a in np.linspace(0, np.pi, 36, endpoint=False))
    if widest < 0.22:
        half *= 0.22 / widest
    d = _parting(rng, ctx, lambda d: (half * d, -half * d), 0.2)
    origin = _origin(rng, np.array([half * d, -half * d, [0, 0]]))
    t1 = _born_at(t, rng.uniform(0.12, 0.2))
    e1 = t1 + rng.uniform(0.15, 0.2)
    t2 = _born_at(t, e1 + rng.uniform(0.06, 0.12))
    e2 = min(t2 + rng.uniform(0.15, 0.2), 0.9)
    color = lerp(obj["color"], other, ramp(t, t2, e2))
    tracks = [_track(obj, _path(t, origin, [])),
              _track(obj, _path(t, origin, [((t1, e1), -half * d)]), t1, t),
              _track(obj, _path(t, origin, [((t2, e2), half * d)]), t2, t, color=color)]
    return to_clip(tracks, {"object": obj, "other_color": other, "origin": origin, "direction": d,
                            "identical_split": [t1, e1], "recoloured_split": [t2, e2]})
