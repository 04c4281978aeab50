"""Moving in a path (coarse class 12): objects travel across the ground from one place to another.

"Slowly" and "quickly" are relative to the clip: a slow move takes most of the clip (55-70 %), a quick one
a small part of it (10-16 %, at least 5 frames) over a longer distance, so a quick move is always several
times faster than a slow one at any clip length.
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._geometry import perp
from tabench.synth.motions._layout import (REACH, X_LIM, Y_LIM, across_picture, clearance, draw, front_camera, on_stage,
                                          pick_shapes, rand_yaw)
from tabench.synth.motions._timing import eased, min_span, times
from tabench.synth.motions._tracks import Track, to_clip
from tabench.synth.motions._util import distinct_colors, random_color


def _random_leg(rng, ctx, dist_range):
    """A start point and an end point `dist` apart, both on stage. The class leaves the direction free: from
    an elevated camera any within 45 degrees of the stage's x; from the front within 30 degrees of across the
    picture (`across_picture`: a move in depth hardly shows there; it moved 0.11 of the picture)."""
    tilt = 30 if front_camera(ctx) else 45

    def sample():
        dist = rng.uniform(*dist_range)
        start = np.array([rng.uniform(-X_LIM + 0.3, X_LIM - 0.3), rng.uniform(Y_LIM[0] + 0.3, Y_LIM[1] - 0.3)])
        end = start + dist * across_picture(rng, ctx, tilt)
        return start, end, dist, abs(end[0]) <= X_LIM - 0.3 and Y_LIM[0] + 0.3 <= end[1] <= Y_LIM[1] - 0.3

    return draw(rng, sample, "a move on stage")


def _move_and_stop(rng, ctx, quick: bool):
    t = times(ctx)
    size = rng.uniform(0.4, 0.7)
    start, end, dist = _random_leg(rng, ctx, (3.5, 5.0) if quick else (2.5, 4.0))
    if quick:
        t0 = rng.uniform(0.2, 0.45)
        dur = max(rng.uniform(0.1, 0.16), min_span(ctx, 5))
    else:
        t0, dur = rng.uniform(0.03, 0.12), rng.uniform(0.55, 0.7)
    pos = start + eased(t, t0, t0 + dur)[:, None] * (end - start)
    tr = Track(str(rng.choice(ctx.shapes)), random_color(rng), pos, size, rotation=rand_yaw(rng))
    return to_clip([tr], dict(size=size, start_point=start, end_point=end, distance=dist, start=t0, duration=dur,
                              shape=tr.shape))


@motion("single_object_moving_slowly_from_one_position_to_another_and_stopping")
def move_slowly_and_stop(rng, ctx):
    return _move_and_stop(rng, ctx, quick=False)


@motion("single_object_moving_quickly_from_one_position_to_another_and_stopping")
def move_quickly_and_stop(rng, ctx):
    return _move_and_stop(rng, ctx, quick=True)


@motion("single_object_moving_slowly_from_one_position_to_another_and_coming_back_to_original_position")
def move_slowly_and_come_back(rng, ctx):
    """Out slowly, a short pause, back slowly along the same line to exactly where it started."""
    t = times(ctx)
    size = rng.uniform(0.4, 0.7)
    start, end, dist = _random_leg(rng, ctx, (2.5, 4.0))
    t0, leg, pause = rng.uniform(0.03, 0.1), rng.uniform(0.32, 0.38), rng.uniform(0.05, 0.12)
    out = eased(t, t0, t0 + leg) - eased(t, t0 + leg + pause, t0 + 2 * leg + pause)
    tr = Track(str(rng.choice(ctx.shapes)), random_color(rng), start + out[:, None] * (end - start), size,
               rotation=rand_yaw(rng))
    return to_clip([tr], dict(size=size, start_point=start, turn_point=end, distance=dist, start=t0, leg=leg,
                              pause=pause, shape=tr.shape))


def _cross(rng, ctx, sign: float):
    """Across the stage along x (sign +1: left to right as the viewer sees it), at a random depth."""
    t = times(ctx)
    size = rng.uniform(0.4, 0.7)
    x0, x1 = -sign * rng.uniform(2.5, 2.9), sign * rng.uniform(2.5, 2.9)
    y = rng.uniform(-1.5, 2.0)
    t0, t1 = rng.uniform(0.0, 0.1), rng.uniform(0.88, 1.0)
    x = x0 + eased(t, t0, t1) * (x1 - x0)
    tr = Track(str(rng.choice(ctx.shapes)), random_color(rng), np.c_[x, np.full_like(x, y)], size, rotation=rand_yaw(rng))
    return to_clip([tr], dict(size=size, x_start=x0, x_end=x1, y=y, start=t0, end=t1, shape=tr.shape))


@motion("single_object_moving_from_left_to_right")
def move_left_to_right(rng, ctx):
    return _cross(rng, ctx, +1.0)


@motion("single_object_moving_from_right_to_left")
def move_right_to_left(rng, ctx):
    return _cross(rng, ctx, -1.0)


@motion("two_objects_moving_and_switching_their_positions")
def two_switch_positions(rng, ctx):
    """Each object goes to where the other stood, both at once; they swing around their midpoint on an
    ellipse (opposite ends of it at every moment) so they pass each other without touching."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)
    rots = [rand_yaw(rng), rand_yaw(rng)]

    def sample():
        sizes = rng.uniform(0.4, 0.6, 2)
        u = across_picture(rng, ctx, 30)
        mid = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 1.3)])
        half = rng.uniform(1.3, 2.0) * u  # from the midpoint to the first object's start
        bulge = (REACH * sizes.sum() + rng.uniform(0.3, 0.6)) / 2 * rng.choice([-1, 1]) * perp(u)
        t0, t1 = rng.uniform(0.08, 0.2), rng.uniform(0.75, 0.92)
        ang = np.pi * eased(t, t0, t1)[:, None]
        a = mid + np.cos(ang) * half + np.sin(ang) * bulge
        b = mid - np.cos(ang) * half - np.sin(ang) * bulge
        tracks = [Track(shapes[0], colors[0], a, sizes[0], rotation=rots[0]),
                  Track(shapes[1], colors[1], b, sizes[1], rotation=rots[1])]
        params = dict(sizes=sizes, midpoint=mid, half_distance=float(np.linalg.norm(half)),
                      bulge=float(np.linalg.norm(bulge)), start=t0, end=t1, shapes=shapes)
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.15

    tracks, params = draw(rng, sample, "two objects switching positions")
    return to_clip(tracks, params)
