"""Occlusion (coarse class 14): one object passes in front of (nearer the camera than) another, or two
swap depth order. These classes are seen from around the front (camera family "viewer", azimuths 75-105),
so nearer means smaller y; layouts are checked against the video's own camera (`ctx.camera`, or both
`NOMINAL_CAMERAS` without one) so that the images really overlap by the named amount.

From the elevated camera (30-55 degrees down) two objects standing on the ground one behind the other
barely overlap on screen unless the front one is much taller, so a smaller front object hovers a little
(`_lift`): high enough to cover part of the one behind from above, low enough to still cover it from the
front. In a swap the object going behind sinks to the ground while the one coming forward rises."""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._geometry import NOMINAL_CAMERAS, hidden_fraction, perp
from tabench.synth.motions._layout import clearance, draw, on_stage, pick_shapes, rand_yaw, reach
from tabench.synth.motions._timing import eased, times
from tabench.synth.motions._tracks import Track, to_clip
from tabench.synth.motions._util import distinct_colors


def _cameras(ctx):
    return (ctx.camera,) if ctx.camera is not None else NOMINAL_CAMERAS


def _hidden(tracks, front: int, back: int, frame: int, cams) -> list[float]:
    """Share of `back`'s image hidden by `front` in `frame`, for each camera."""
    a, b = tracks[front], tracks[back]
    return [hidden_fraction(cam, a.position[frame], a.size[frame], b.position[frame], b.size[frame])
            for cam in cams]


def _lift(rng, depth_gap: float) -> float:
    """Hover height of a front object that should overlap, on screen, an object depth_gap behind it."""
    return float(depth_gap * rng.uniform(0.45, 0.65))


def _come_in_front(rng, ctx, mover_big: bool):
    """The mover slides in sideways along a lane just in front of a standing object and stops in front of it:
    a small mover at the big object's edge (barely occluding), or a big mover right over a small one."""
    t, cams = times(ctx), _cameras(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)  # [mover, standing]
    rots = [rand_yaw(rng), rand_yaw(rng)]

    def sample():
        small, big = rng.uniform(0.36, 0.45), rng.uniform(0.82, 0.97)
        sizes = [big, small] if mover_big else [small, big]
        stand = np.array([rng.uniform(-0.6, 0.6), rng.uniform(0.8, 1.8) if mover_big else rng.uniform(0.4, 1.3)])
        lane = stand[1] - (reach(shapes[0]) * sizes[0] + reach(shapes[1]) * sizes[1] + rng.uniform(0.15, 0.35))
        side = rng.choice([-1.0, 1.0])
        stop = stand[0] + (rng.uniform(-0.15, 0.15) if mover_big else side * rng.uniform(0.55, 0.85) * big)
        x0 = stand[0] + side * rng.uniform(2.2, 2.7)
        t0 = rng.uniform(0.05, 0.2)
        t1 = t0 + rng.uniform(0.35, 0.5)
        x = x0 + eased(t, t0, t1) * (stop - x0)
        z = np.full_like(x, sizes[0] + (0.0 if mover_big else _lift(rng, stand[1] - lane)))
        tracks = [Track(shapes[0], colors[0], np.c_[x, np.full_like(x, lane), z], sizes[0], rotation=rots[0]),
                  Track(shapes[1], colors[1], np.tile(stand, (len(t), 1)), sizes[1], rotation=rots[1])]
        start, end = _hidden(tracks, 0, 1, 0, cams), _hidden(tracks, 0, 1, -1, cams)
        if mover_big:
            named = min(end) >= 0.7  # mostly or fully hides the small one
        else:
            named = 0.03 <= min(end) and max(end) <= 0.3  # covers only a sliver of the big one
        params = dict(sizes=sizes, standing=stand, lane_y=lane, x_start=x0, x_stop=stop, start=t0, end=t1,
                      hidden_at_end=end, shapes=shapes)
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.1 and max(start) == 0 and named

    tracks, params = draw(rng, sample, "coming in front")
    return to_clip(tracks, params)


@motion("small_object_coming_in_front_of_big_object_barely_occluding_it")
def small_in_front_of_big(rng, ctx):
    return _come_in_front(rng, ctx, mover_big=False)


@motion("big_object_coming_in_front_of_small_object_mostly_or_fully_occluding_it")
def big_in_front_of_small(rng, ctx):
    return _come_in_front(rng, ctx, mover_big=True)


def _swap_pair(rng, t, center, shapes, sizes, offset_range, swing_range):
    """Two objects, one just behind the other (sideways offset in `offset_range`), that trade places by
    swinging half a turn around their midpoint on an ellipse whose sideways half-axis is `swing` (from
    `swing_range`) times their depth half-axis: they part sideways, pass side by side and close in again in
    the other order, never nearer than at the start (so they never touch). On a circle (swing 1) the swap
    moved each object half their distance sideways: 0.06 of the front picture, read only from the order."""
    dist = reach(shapes[0]) * sizes[0] + reach(shapes[1]) * sizes[1] + rng.uniform(0.2, 0.4)
    e = rng.uniform(*offset_range) * rng.choice([-1.0, 1.0])
    half = np.array([e, np.sqrt(dist ** 2 - e ** 2)]) / 2  # midpoint -> back object
    swing = rng.uniform(*swing_range)
    t0 = rng.uniform(0.15, 0.3)
    t1 = t0 + rng.uniform(0.4, 0.55)
    p = eased(t, t0, t1)
    turn = rng.choice([-1.0, 1.0]) * np.pi * p
    lift = _lift(rng, 2 * half[1])
    arm = np.cos(turn)[:, None] * half + swing * np.sin(turn)[:, None] * perp(half)  # midpoint -> back object
    front = np.c_[center - arm, sizes[0] + lift * (1 - p)]
    back = np.c_[center + arm, sizes[1] + lift * p]
    return front, back, dict(center=center, distance=dist, sideways_offset=e, swing=swing, lift=lift, start=t0,
                             end=t1)


@motion("object_which_is_occluding_another_object_switches_places_and_goes_behind_it")
def front_goes_behind(rng, ctx):
    t, cams = times(ctx), _cameras(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)  # [front at first, back at first]
    rots = [rand_yaw(rng), rand_yaw(rng)]

    def sample():
        sizes = [rng.uniform(0.45, 0.62), rng.uniform(0.5, 0.7)]
        center = np.array([rng.uniform(-1.0, 1.0), rng.uniform(0.2, 1.0)])
        front, back, params = _swap_pair(rng, t, center, shapes, sizes, (0.1, 0.5), (1.8, 2.4))
        tracks = [Track(shapes[0], colors[0], front, sizes[0], rotation=rots[0]),
                  Track(shapes[1], colors[1], back, sizes[1], rotation=rots[1])]
        overlap = min(_hidden(tracks, 0, 1, 0, cams) + _hidden(tracks, 1, 0, -1, cams)) > 0.15
        params.update(sizes=sizes, shapes=shapes)
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.1 and overlap

    tracks, params = draw(rng, sample, "occluder going behind")
    return to_clip(tracks, params)


@motion("two_objects_partially_occluding_two_other_objects_switch_positions_with_the_latter_two_and_go_behind_them")
def two_pairs_swap_depth(rng, ctx):
    """Two front-back pairs side by side, each front object partly hiding its partner; both pairs swap."""
    t, cams = times(ctx), _cameras(ctx)
    shapes, colors = pick_shapes(rng, ctx, 4), distinct_colors(rng, 4)  # [front L, back L, front R, back R]
    rots = [rand_yaw(rng) for _ in range(4)]

    def sample():
        tracks, pairs = [], []
        for k, side in enumerate((-1.0, 1.0)):
            sizes = [rng.uniform(0.4, 0.52), rng.uniform(0.42, 0.55)]
            center = np.array([side * rng.uniform(1.6, 2.1), rng.uniform(0.2, 1.0)])
            front, back, params = _swap_pair(rng, t, center, shapes[2 * k:2 * k + 2], sizes, (0.3, 0.6),
                                              (1.6, 2.2))
            tracks += [Track(shapes[2 * k], colors[2 * k], front, sizes[0], rotation=rots[2 * k]),
                       Track(shapes[2 * k + 1], colors[2 * k + 1], back, sizes[1], rotation=rots[2 * k + 1])]
            pairs.append(dict(params, sizes=sizes))
        start = _hidden(tracks, 0, 1, 0, cams) + _hidden(tracks, 2, 3, 0, cams)
        end = _hidden(tracks, 1, 0, -1, cams) + _hidden(tracks, 3, 2, -1, cams)
        ok = min(start + end) > 0.15 and max(start) < 0.85  # partial, then the other way round
        return tracks, dict(pairs=pairs, shapes=shapes), on_stage(tracks) and clearance(tracks) > 0.1 and ok

    tracks, params = draw(rng, sample, "two pairs swapping depth")
    return to_clip(tracks, params)
