"""Objects entering or leaving the stage sideways, shared by arriving (coarse 1) and departing (coarse 6).

Arriving and departing are the same scenes with the travel reversed: an arriving object starts outside
every camera's view (`offstage_x`) and slows to rest on the stage (ease-out); a departing object starts at
rest and speeds up until it is out of view (ease-in). Travel is along x, so it reads left/right on screen
in both views; objects keep separate depth lanes (y), so nothing passes through anything.
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions._layout import FOOTPRINT, GAP, lanes, offstage_x, pick_shapes, rand_size, rand_yaw
from tabench.synth.motions._timing import ease_in, ease_out
from tabench.synth.motions._tracks import Track, const
from tabench.synth.motions._util import distinct_colors, timeline


def travel_x(t, x_rest: float, x_off: float, t0: float, t1: float, inward: bool) -> np.ndarray:
    """x over time: off-stage -> rest (inward) or rest -> off-stage (outward) within [t0, t1]."""
    u = np.clip((np.asarray(t, float) - t0) / (t1 - t0), 0.0, 1.0)
    if inward:
        return x_off + (x_rest - x_off) * ease_out(u)
    return x_rest + (x_off - x_rest) * ease_in(u)


def mover_track(n, shape, size, color, x, y) -> Track:
    """An object on the ground in lane y whose x follows the given per-frame values."""
    pos = const(n, (0.0, y, size))
    pos[:, 0] = x
    return Track(shape=shape, size=size, position=pos, color=color, rotation=(0.0, 0.0, 0.0))


def travel_window(rng, inward: bool) -> tuple[float, float]:
    """When a single travel happens: arrivals start at once and settle by 55-75%; departures start after a
    visible rest and leave by the end."""
    if inward:
        return float(rng.uniform(0.0, 0.08)), float(rng.uniform(0.55, 0.75))
    return float(rng.uniform(0.25, 0.45)), float(rng.uniform(0.9, 0.97))


def lane_group(rng, ctx, k: int, inward: bool, one_by_one: bool):
    """k objects in separate lanes, all from/to one side, travelling together or one after another."""
    n, t = ctx.num_frames, timeline(ctx.num_frames)
    sizes = [rand_size(rng, 0.45, 0.6) for _ in range(k)]
    ys = lanes(rng, k, spacing=2 * max(sizes) * FOOTPRINT + GAP)
    side = int(rng.choice([-1, 1]))
    rest = rng.uniform(-2.3, 2.3, size=k)
    if one_by_one:
        step = rng.uniform(0.8, 0.86) / k  # the last arrival settles by ~87%
        s0 = rng.uniform(0.0, 0.03) if inward else 1.0 - k * step
        windows = [(s0 + i * step, s0 + i * step + 0.92 * step) for i in range(k)]
    else:
        windows = [travel_window(rng, inward)] * k
    shapes, colors = pick_shapes(rng, ctx, k), distinct_colors(rng, k)
    tracks = [mover_track(n, shapes[i], sizes[i], colors[i],
                     travel_x(t, rest[i], offstage_x(ys[i], side, ctx.camera), *windows[i], inward), ys[i]) for i in range(k)]
    params = {"side": side, "lanes_y": ys, "rest_x": rest, "windows": windows, "sizes": sizes, "shapes": shapes,
              "colors": colors}
    return tracks, params


def beside_pair(rng, ctx):
    """A still object B and the rest place of a mover A right beside it, on the side A travels from.
    Returns (A's shape, size, colour, rest x, lane y, side, B's track)."""
    n = ctx.num_frames
    sa, sb = rand_size(rng), rand_size(rng)
    side = int(rng.choice([-1, 1]))
    dist = (sa + sb) * FOOTPRINT + rng.uniform(0.15, 0.4)  # close, not touching
    lo, hi = (dist - 3.0, 1.5) if side < 0 else (-1.5, 3.0 - dist)
    xb, y = rng.uniform(lo, hi), rng.uniform(-1.5, 2.0)
    (shape_a, shape_b), (col_a, col_b) = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)
    b = Track(shape=shape_b, size=sb, position=const(n, (xb, y, sb)), color=col_b, rotation=rand_yaw(rng))
    return shape_a, sa, col_a, xb + side * dist, y, side, b


def _in_hull(p, pts, directions: int = 72) -> bool:
    """p lies inside the convex hull of pts (no direction separates it from all of them, with margin)."""
    for a in np.linspace(0, 2 * np.pi, directions, endpoint=False):
        d = np.array([np.cos(a), np.sin(a)])
        if ((pts - p) @ d).max() < 0.3:
            return False
    return True


def among_many(rng, ctx, tries: int = 500):
    """A target spot surrounded by 4-5 still objects, leaving a free corridor from one side to the spot.
    Returns (mover's shape, size, colour, target x, lane y, side, still tracks)."""
    n = ctx.num_frames
    size = rand_size(rng, 0.45, 0.6)
    side = int(rng.choice([-1, 1]))
    for _ in range(tries):
        target = np.array([rng.uniform(-1.0, 1.0), rng.uniform(-0.8, 1.2)])
        k = int(rng.integers(4, 6))
        sizes = [rand_size(rng, 0.45, 0.6) for _ in range(k)]
        pts = []
        for s in sizes:
            for _ in range(200):
                ang, rad = rng.uniform(0, 2 * np.pi), rng.uniform((size + s) * FOOTPRINT + GAP, 2.6)
                p = target + rad * np.array([np.cos(ang), np.sin(ang)])
                in_corridor = (side * (p[0] - target[0]) > -0.2
                               and abs(p[1] - target[1]) < (size + s) * FOOTPRINT + GAP)
                apart = all(np.hypot(*(p - q)) >= (s + sq) * FOOTPRINT + GAP for q, sq in zip(pts, sizes))
                if not in_corridor and apart and abs(p[0]) <= 3.2 and -3.0 <= p[1] <= 3.2:
                    pts.append(p)
                    break
        if len(pts) == k and _in_hull(target, np.array(pts)):
            break
    else:
        raise RuntimeError("could not surround the target")
    colors = distinct_colors(rng, k + 1)
    shapes = pick_shapes(rng, ctx, k + 1)
    still = [Track(shape=shapes[i + 1], size=sizes[i], position=const(n, (pts[i][0], pts[i][1], sizes[i])),
                   color=colors[i + 1], rotation=rand_yaw(rng)) for i in range(k)]
    return shapes[0], size, colors[0], float(target[0]), float(target[1]), side, still

