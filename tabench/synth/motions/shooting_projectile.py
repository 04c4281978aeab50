"""Shooting projectile (coarse class 17): a projectile flies in a ballistic arc from one corner of the stage
to another and lands there.

Horizontal speed is constant and height is a parabola in time, as for a thrown body. Where one position
shoots, a launcher (a larger object, flat-topped when the shape pool has one) stands in the corner with the
projectile resting on top of it; a second projectile is loaded (fades in on top) once the first has left.
Corners are the stage's: x = +-(2.4-2.7), y about -1.9 (front) or 2.4 (back).
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._helpers_b import (clearance, corner, draw, min_span, on_stage, perp, pick_shapes,
                                              progress, times, to_clip, track)
from tabench.synth.motions._util import distinct_colors

FLAT_TOPPED = ("cube", "cylinder")


def _flight(t, start, end, t_launch: float, t_land: float, height: float) -> np.ndarray:
    """Positions (T, 3): at `start` until launch, a parabolic arc peaking `height` above the straight line,
    then at `end`."""
    s = progress(t, t_launch, t_land)
    pos = start + s[:, None] * (end - start)
    pos[:, 2] += 4 * height * s * (1 - s)
    return pos


def _tumble(rng, t, t_launch: float, t_land: float) -> np.ndarray:
    """A projectile spins while in the air."""
    s = progress(t, t_launch, t_land)
    turns = rng.uniform(1.0, 2.0, 2) * rng.choice([-1.0, 1.0], 2)
    return np.c_[2 * np.pi * turns[0] * s, 2 * np.pi * turns[1] * s, np.full_like(s, rng.uniform(0, 2 * np.pi))]


def _launcher_shape(rng, ctx) -> str:
    pool = [s for s in ctx.shapes if s in FLAT_TOPPED] or list(ctx.shapes)
    return str(rng.choice(pool))


def _shoot(rng, ctx, corners, n_projectiles: int = 1):
    """A launcher at `corners(rng)[0]` shoots projectiles at `corners(rng)[1]` (side by side when two)."""
    t = times(ctx)
    shapes = [_launcher_shape(rng, ctx)] + pick_shapes(rng, ctx, n_projectiles)
    colors = distinct_colors(rng, n_projectiles + 1)
    launcher_yaw = (0.0, 0.0, float(rng.uniform(0, 2 * np.pi)))

    def sample():
        s_l = rng.uniform(0.5, 0.62)
        sizes = rng.uniform(0.32, 0.42, n_projectiles)
        src, dst = corners(rng)
        tracks = [track(shapes[0], colors[0], np.tile(src, (len(t), 1)), s_l, rotation=launcher_yaw)]
        # Landing spots: the target corner, or two spots side by side across the line of flight.
        n = perp((dst - src) / np.linalg.norm(dst - src))
        spread = 0.0 if n_projectiles == 1 else (sizes.sum() * 1.42 + rng.uniform(0.2, 0.4)) / 2
        spots = [dst + k * spread * n for k in ((0,) if n_projectiles == 1 else (-1, 1))]
        fade = max(0.04, min_span(ctx, 3))
        t_launch = rng.uniform(0.12, 0.25)
        flights = []
        for k in range(n_projectiles):
            dur, height = rng.uniform(0.3, 0.42), rng.uniform(1.3, 2.0)
            top = np.r_[src, 2 * s_l + sizes[k] + 0.02]  # resting on the launcher
            land = np.r_[spots[k], sizes[k]]
            loaded = 0.0 if k == 0 else t_launch - rng.uniform(0.03, 0.07) - fade  # when it shows up on top
            pos = _flight(t, top, land, t_launch, t_launch + dur, height)
            opacity = 1.0 if k == 0 else progress(t, loaded, loaded + fade)
            tracks.append(track(shapes[k + 1], colors[k + 1], pos, sizes[k], opacity=opacity,
                                rotation=_tumble(rng, t, t_launch, t_launch + dur), alive=t >= loaded))
            flights.append(dict(size=sizes[k], loaded=loaded, launch=t_launch, land=t_launch + dur, height=height,
                                target=spots[k]))
            t_launch += dur * rng.uniform(0.35, 0.5) + fade  # the next one once this one is well away
        params = dict(launcher_size=s_l, source=src, target=dst, projectiles=flights, shapes=shapes)
        ok = on_stage(tracks) and flights[-1]["land"] <= 0.95  # lands, and is seen resting, before the end
        if n_projectiles > 1:
            ok = ok and clearance(tracks, pairs=[(1, 2)]) > 0.1
        return tracks, params, ok

    tracks, params = draw(rng, sample, "shooting a projectile")
    return to_clip(tracks, params)


def _diagonal(rng):
    sx, sy = rng.choice([-1.0, 1.0], 2)
    return corner(rng, sx, sy), corner(rng, -sx, -sy)


def _right_to_left(rng):
    sy = rng.choice([-1.0, 1.0])
    return corner(rng, 1.0, sy), corner(rng, -1.0, sy)


def _left_to_right(rng):
    sy = rng.choice([-1.0, 1.0])
    return corner(rng, -1.0, sy), corner(rng, 1.0, sy)


@motion("shooting_projectile_from_one_corner_to_opposite_corner")
def shoot_diagonal(rng, ctx):
    return _shoot(rng, ctx, _diagonal)


@motion("shooting_projectile_from_right_corner_to_left_corner")
def shoot_right_to_left(rng, ctx):
    return _shoot(rng, ctx, _right_to_left)


@motion("shooting_projectile_from_left_corner_to_right_corner")
def shoot_left_to_right(rng, ctx):
    return _shoot(rng, ctx, _left_to_right)


@motion("shooting_two_projectiles_from_same_position_to_opposite_corner")
def shoot_two_same_position(rng, ctx):
    return _shoot(rng, ctx, _diagonal, n_projectiles=2)


@motion("shooting_two_projectiles_from_opposite_corners_switching_their_positions")
def shoot_two_swap(rng, ctx):
    """Two objects resting in opposite corners are shot at the same moment, each landing where the other
    was; one flies a high arc and the other a low one, so they pass each other in the air."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)

    def sample():
        sizes = rng.uniform(0.35, 0.45, 2)
        a, b = _diagonal(rng)
        t_launch = rng.uniform(0.15, 0.3)
        dur = rng.uniform(0.35, 0.5)
        heights = [rng.uniform(2.0, 2.5), rng.uniform(0.6, 0.9)]
        if rng.random() < 0.5:
            heights.reverse()
        tracks = [track(shapes[0], colors[0], _flight(t, np.r_[a, sizes[0]], np.r_[b, sizes[0]], t_launch,
                                                      t_launch + dur, heights[0]), sizes[0],
                        rotation=_tumble(rng, t, t_launch, t_launch + dur)),
                  track(shapes[1], colors[1], _flight(t, np.r_[b, sizes[1]], np.r_[a, sizes[1]], t_launch,
                                                      t_launch + dur, heights[1]), sizes[1],
                        rotation=_tumble(rng, t, t_launch, t_launch + dur))]
        params = dict(sizes=sizes, corners=[a, b], launch=t_launch, land=t_launch + dur, heights=heights,
                      shapes=shapes)
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.15

    tracks, params = draw(rng, sample, "two projectiles switching corners")
    return to_clip(tracks, params)
