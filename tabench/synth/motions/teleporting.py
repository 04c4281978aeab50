"""Teleporting (coarse class 19): an object fades out in one place and fades in somewhere else, with no
travel in between. While it is gone (opacity reaches 0) the object is absent from the frames, and its
position changes only then. Fades and the gap last a few percent of the clip and at least 2 frames each.
A single jump spans at least MIN_JUMP of the picture from the video's own camera: from the nearly level front
view a jump between a front and a back corner on the same side hardly moves on screen and reads as the object
fading out and back in place (disappearing / appearing), so such layouts are re-drawn."""
from __future__ import annotations

import itertools

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._layout import (clearance, corner, draw, on_stage, pick_shapes, rand_yaw, reach,
                                          screen_shift)
from tabench.synth.motions._timing import min_span, progress, times
from tabench.synth.motions._tracks import Track, to_clip
from tabench.synth.motions._util import distinct_colors

CORNERS = ((-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0))  # (sx, sy): front left, front right, ...
MIN_JUMP = 0.2  # frame widths on screen


def _timing(rng, ctx) -> dict:
    """When the jump happens: fade out, stay gone, fade in (normalised times)."""
    fade = max(rng.uniform(0.03, 0.06), min_span(ctx, 2))
    gone = max(rng.uniform(0.03, 0.1), min_span(ctx, 2))
    out = rng.uniform(0.3, 0.5)
    return dict(fade_out=out, gone=out + fade, back=out + fade + gone, shown=out + 2 * fade + gone)


def _teleporter(t, shape, color, size, rot, here, there, tm: dict):
    """A track at `here` until it has faded out, at `there` from when it starts fading in."""
    opacity = 1.0 - progress(t, tm["fade_out"], tm["gone"]) + progress(t, tm["back"], tm["shown"])
    pos = np.where((t < tm["back"])[:, None], here, there)
    return Track(shape, color, pos, size, opacity=opacity, rotation=rot, alive=opacity > 0)


def _stay(t, shape, color, size, rot, where):
    return Track(shape, color, np.tile(where, (len(t), 1)), size, rotation=rot)


def _corner_jumps(rng, ctx, moves, extra_center: bool = False, what: str = "teleporting", min_jump: float = 0.0):
    """Objects start at the corners in `moves` (corner index -> corner index, or a function of rng drawing
    them) and all teleport at once; every jump spans `min_jump` frame widths on screen; with `extra_center`
    an object stands still in the middle of the stage."""
    t = times(ctx)
    n = (1 if callable(moves) else len(moves)) + int(extra_center)  # a drawn `moves` is one jump
    shapes, colors = pick_shapes(rng, ctx, n), distinct_colors(rng, n)
    rots = [rand_yaw(rng) for _ in range(n)]
    tm = _timing(rng, ctx)

    def sample():
        mv = moves(rng) if callable(moves) else moves
        spots = [corner(rng, *c) for c in CORNERS]
        sizes = rng.uniform(0.4, 0.6, n)
        tracks = [_teleporter(t, shapes[k], colors[k], sizes[k], rots[k], spots[a], spots[b], tm)
                  for k, (a, b) in enumerate(mv)]
        params = dict(moves=[list(m) for m in mv], corners=[spots[i] for i in range(4)], sizes=sizes,
                      shapes=shapes, **tm)
        if extra_center:
            mid = np.array([rng.uniform(-0.3, 0.3), rng.uniform(0.0, 0.6)])
            tracks.append(_stay(t, shapes[-1], colors[-1], rng.uniform(0.5, 0.7), rots[-1], mid))
            params["center_object"] = mid
        seen = all(screen_shift(ctx, spots[a], spots[b]) >= min_jump for a, b in mv)
        return tracks, params, seen and on_stage(tracks) and clearance(tracks) > 0.2

    tracks, params = draw(rng, sample, what)
    return to_clip(tracks, params)


def _one_jump(rng):
    a = int(rng.integers(4))
    return [(a, (a + int(rng.integers(1, 4))) % 4)]


@motion("single_object_teleporting_from_one_corner_to_another")
def teleport_corner(rng, ctx):
    return _corner_jumps(rng, ctx, _one_jump, min_jump=MIN_JUMP)


@motion("single_object_teleporting_from_one_corner_to_another_while_another_object_is_in_the_center")
def teleport_corner_around_center(rng, ctx):
    return _corner_jumps(rng, ctx, _one_jump, extra_center=True, min_jump=MIN_JUMP)


@motion("two_objects_in_opposite_corners_switch_places_by_teleporting")
def teleport_swap_two(rng, ctx):
    a = int(rng.integers(4))
    b = (a + 2) % 4  # diagonally opposite
    return _corner_jumps(rng, ctx, [(a, b), (b, a)])


@motion("four_objects_in_four_corners_switch_places_by_teleporting")
def teleport_swap_four(rng, ctx):
    """Every object ends in another object's corner (a random derangement of the four corners)."""
    derangements = [p for p in itertools.permutations(range(4)) if all(p[i] != i for i in range(4))]
    perm = derangements[int(rng.integers(len(derangements)))]
    return _corner_jumps(rng, ctx, [(i, perm[i]) for i in range(4)])


@motion("two_objects_together_in_one_corner_then_one_teleports_to_other_corner")
def teleport_one_of_pair(rng, ctx):
    """Two objects side by side in a corner; one of them jumps to another corner, the other stays."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)  # [teleports, stays]
    rots = [rand_yaw(rng), rand_yaw(rng)]
    tm = _timing(rng, ctx)

    def sample():
        src = int(rng.integers(4))
        dst = (src + int(rng.integers(1, 4))) % 4
        sizes = rng.uniform(0.4, 0.55, 2)
        home = corner(rng, *CORNERS[src])
        # the partner stands beside it, towards the middle of the stage (along x or y)
        axis = np.array([1.0, 0.0]) if rng.random() < 0.5 else np.array([0.0, 1.0])
        inward = -np.sign(home) * axis
        beside = home + inward * (reach(shapes[0]) * sizes[0] + reach(shapes[1]) * sizes[1] + rng.uniform(0.1, 0.25))
        order = [home, beside] if rng.random() < 0.5 else [beside, home]
        there = corner(rng, *CORNERS[dst])
        tracks = [_teleporter(t, shapes[0], colors[0], sizes[0], rots[0], order[0], there, tm),
                  _stay(t, shapes[1], colors[1], sizes[1], rots[1], order[1])]
        params = dict(from_corner=src, to_corner=dst, sizes=sizes, start_positions=order, shapes=shapes, **tm)
        seen = screen_shift(ctx, order[0], there) >= MIN_JUMP
        return tracks, params, seen and on_stage(tracks) and clearance(tracks) > 0.05

    tracks, params = draw(rng, sample, "one of a pair teleporting")
    return to_clip(tracks, params)
