"""Shooting projectile (coarse class 17): a projectile flies in a ballistic arc from one corner of the picture
to another and lands there.

Horizontal speed is constant and height is a parabola in time, as for a thrown body. Projectiles rest on
the ground in their corner before they are shot; there is no launcher (as in the paper).

Corners are the camera's, not the stage's: the classes name directions on screen ("from right corner to left
corner"), and with an orbiting camera a stage corner is anywhere on screen. `view_axes` gives the camera's
ground axes (right, forward); a corner is a ground point `CORNER_RADIUS` from the stage centre along them.
  - right to left / left to right: along the camera's right axis at one depth (near or far row): the flight
    is level on screen and keeps its distance to the camera (its size) in every view;
  - one corner to the opposite corner: through the centre, 50-62 degrees from the right axis towards depth
    (near-left to far-right, or any of the four ways): it crosses the picture diagonally from the elevated
    view and, from the nearly level front view, flies into or out of the picture (its size changes by
    1.4x or more), which the same-depth "right corner to left corner" of Set 1 never does.
Without a camera (programs called on their own) the axes are the front view's: right +x, forward +y.
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._geometry import perp
from tabench.synth.motions._layout import clearance, draw, on_stage, pick_shapes, view_axes
from tabench.synth.motions._timing import min_span, progress, times
from tabench.synth.motions._tracks import Track, to_clip
from tabench.synth.motions._util import distinct_colors
from tabench.synth.scene import TARGET

CENTRE = np.array(TARGET[:2], float)  # the stage centre the cameras look at
CORNER_RADIUS = (2.4, 2.6)  # ground distance of a corner from the centre (inside the stage for any azimuth)
DIAGONAL_DEG = (50.0, 62.0)  # angle of a diagonal flight from the camera's right axis, towards depth
ROW_DEPTH = (0.6, 1.1)  # how far in front of / behind the centre a level (left/right) flight runs


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


def _beside(point, u) -> np.ndarray:
    """The unit ground step across the flight line (direction u) from `point` towards the stage centre:
    where a second object sits next to the first without leaving the stage."""
    side = perp(u)
    return side if side @ (CENTRE - point) >= 0 else -side


def _shoot(rng, ctx, corners, n_projectiles: int = 1, radius=CORNER_RADIUS):
    """A projectile resting on the ground at `corners(rng, ctx, radius)[0]` is shot at the second corner and
    lands there.
    With two, the second waits just beside the first, rolls into the firing spot once the first is away,
    and is shot from the same spot; they land side by side. Nothing else is in the scene: the paper's
    projectile classes have no launcher (a static object in these classes only would name them)."""
    t = times(ctx)
    shapes = pick_shapes(rng, ctx, n_projectiles)
    colors = distinct_colors(rng, n_projectiles)

    def sample():
        sizes = rng.uniform(0.34, 0.45, n_projectiles)
        src, dst = corners(rng, ctx, radius)
        u = (dst - src) / np.linalg.norm(dst - src)
        spread = 0.0 if n_projectiles == 1 else (sizes.sum() * 1.42 + rng.uniform(0.35, 0.55)) / 2
        spots = [dst + k * 2 * spread * _beside(dst, u) for k in range(n_projectiles)]  # side by side, on stage
        t_launch = rng.uniform(0.12, 0.25)
        tracks, flights = [], []
        for k in range(n_projectiles):
            dur, height = rng.uniform(0.3, 0.42), rng.uniform(1.3, 2.0)
            pos = _flight(t, np.r_[src, sizes[k]], np.r_[spots[k], sizes[k]], t_launch, t_launch + dur, height)
            waiting = None
            if k > 0:  # waits beside the firing spot (on the stage side), rolls into it after the previous shot
                waiting = src + _beside(src, u) * (1.42 * (sizes[0] + sizes[k]) + rng.uniform(0.2, 0.35))
                roll = progress(t, flights[-1]["launch"] + 0.05, t_launch - min_span(ctx, 2))
                before = t < t_launch
                pos[before, :2] = waiting + roll[before, None] * (src - waiting)
            tracks.append(Track(shapes[k], colors[k], pos, sizes[k], rotation=_tumble(rng, t, t_launch, t_launch + dur)))
            flights.append(dict(size=sizes[k], launch=t_launch, land=t_launch + dur, height=height,
                                target=spots[k], waiting=waiting))
            t_launch += dur * rng.uniform(0.45, 0.6) + min_span(ctx, 4)  # the next one once this one is well away
        params = dict(source=src, target=dst, projectiles=flights, shapes=shapes)
        ok = on_stage(tracks) and flights[-1]["land"] <= 0.95  # lands, and is seen resting, before the end
        if n_projectiles > 1:
            ok = ok and clearance(tracks) > 0.1
        return tracks, params, ok

    tracks, params = draw(rng, sample, "shooting a projectile")
    return to_clip(tracks, params)


def _diagonal(rng, ctx, radius=CORNER_RADIUS):
    """Opposite corners of the picture: through the centre, towards depth (near <-> far) and across."""
    right, fwd = view_axes(ctx)
    theta = np.radians(rng.uniform(*DIAGONAL_DEG))
    su, sv = rng.choice([-1.0, 1.0], 2)  # left -> right or right -> left; near -> far or far -> near
    half = rng.uniform(*radius) * (su * np.cos(theta) * right + sv * np.sin(theta) * fwd)
    return CENTRE - half, CENTRE + half


def _level(rng, ctx, start_side: float, radius=CORNER_RADIUS):
    """From the picture's right (start_side +1) or left (-1) corner to the other one of the same row
    (near or far): level on screen, at one distance from the camera."""
    right, fwd = view_axes(ctx)
    depth = rng.choice([-1.0, 1.0]) * rng.uniform(*ROW_DEPTH)
    across = np.sqrt(rng.uniform(*radius) ** 2 - depth ** 2)
    row = CENTRE + depth * fwd
    return row + start_side * across * right, row - start_side * across * right


def _right_to_left(rng, ctx, radius=CORNER_RADIUS):
    return _level(rng, ctx, 1.0, radius)


def _left_to_right(rng, ctx, radius=CORNER_RADIUS):
    return _level(rng, ctx, -1.0, radius)


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
    return _shoot(rng, ctx, _diagonal, n_projectiles=2, radius=(2.1, 2.3))


@motion("shooting_two_projectiles_from_opposite_corners_switching_their_positions")
def shoot_two_swap(rng, ctx):
    """Two objects resting in opposite corners are shot at the same moment, each landing where the other
    was; one flies a high arc and the other a low one, so they pass each other in the air."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)

    def sample():
        sizes = rng.uniform(0.35, 0.45, 2)
        a, b = _diagonal(rng, ctx)
        t_launch = rng.uniform(0.15, 0.3)
        dur = rng.uniform(0.35, 0.5)
        heights = [rng.uniform(2.0, 2.5), rng.uniform(0.6, 0.9)]
        if rng.random() < 0.5:
            heights.reverse()
        tracks = [Track(shapes[0], colors[0], _flight(t, np.r_[a, sizes[0]], np.r_[b, sizes[0]], t_launch,
                                                      t_launch + dur, heights[0]), sizes[0],
                        rotation=_tumble(rng, t, t_launch, t_launch + dur)),
                  Track(shapes[1], colors[1], _flight(t, np.r_[b, sizes[1]], np.r_[a, sizes[1]], t_launch,
                                                      t_launch + dur, heights[1]), sizes[1],
                        rotation=_tumble(rng, t, t_launch, t_launch + dur))]
        params = dict(sizes=sizes, corners=[a, b], launch=t_launch, land=t_launch + dur, heights=heights,
                      shapes=shapes)
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.15

    tracks, params = draw(rng, sample, "two projectiles switching corners")
    return to_clip(tracks, params)
