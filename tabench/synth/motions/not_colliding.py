"""Not colliding (coarse class 13): objects head for each other and pass close by without touching.

Near misses are built so the closest approach is known: a sideways `swerve` whose flat part is at least as
long as the offset keeps the distance at or above the offset (see `_geometry.swerve`); a cos^2 `bump`
of height 1.3 D and half-width 1.65 D keeps at least D; a pinwheel keeps every pair at least
2 d sin(pi / n) apart. Every layout is still checked with `clearance` (per-shape reach).
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._geometry import perp, rot2, swerve, unit
from tabench.synth.motions._layout import clearance, draw, lateral_direction, on_stage, pick_shapes, rand_yaw, reach
from tabench.synth.motions._timing import bump, progress, times
from tabench.synth.motions._tracks import Track, to_clip
from tabench.synth.motions._util import distinct_colors


def _near(shapes, sizes, rng, lo: float = 0.15, hi: float = 0.35) -> float:
    """Centre distance for a close pass between the two largest-reaching objects: touching plus a small gap."""
    r = sorted(reach(s) * z for s, z in zip(shapes, sizes))
    return r[-1] + r[-2] + rng.uniform(lo, hi)


@motion("two_objects_moving_towards_each_other_but_not_colliding")
def two_near_miss(rng, ctx):
    """Head-on along a diagonal of the stage; as they meet both step aside (opposite ways) and pass."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)
    rots = [rand_yaw(rng), rand_yaw(rng)]

    def sample():
        sizes = rng.uniform(0.4, 0.6, 2)
        ang = np.radians(rng.uniform(30, 60)) * rng.choice([-1, 1]) + rng.choice([0.0, np.pi])
        u, n = unit(ang), perp(unit(ang))
        mid = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.2, 1.0)])
        half = rng.uniform(2.2, 2.7)
        h = _near(shapes, sizes, rng) / 2  # each steps aside this far
        flat, ramp = h * rng.uniform(1.0, 1.2), rng.uniform(0.8, 1.1)
        side = rng.choice([-1.0, 1.0])
        t0, t1 = rng.uniform(0.0, 0.1), rng.uniform(0.85, 1.0)
        s = -half + 2 * half * progress(t, t0, t1)
        off = (side * h * swerve(s, flat, ramp))[:, None] * n
        a, b = mid + s[:, None] * u + off, mid - s[:, None] * u - off
        tracks = [Track(shapes[0], colors[0], a, sizes[0], rotation=rots[0]),
                  Track(shapes[1], colors[1], b, sizes[1], rotation=rots[1])]
        params = dict(sizes=sizes, direction_deg=np.degrees(ang), midpoint=mid, half_distance=half, sidestep=h,
                      start=t0, end=t1, shapes=shapes)
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.1

    tracks, params = draw(rng, sample, "two objects not colliding")
    return to_clip(tracks, params)


@motion("single_object_moving_towards_single_stationary_object_but_not_colliding_with_it")
def one_near_miss_stationary(rng, ctx):
    """Heads straight at a standing object, swerves around it close by, and goes on past it."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)  # [mover, stationary]
    rots = [rand_yaw(rng), rand_yaw(rng)]

    def sample():
        sizes = np.array([rng.uniform(0.38, 0.5), rng.uniform(0.4, 0.55)])
        u = lateral_direction(rng, 20)
        n = perp(u)
        target = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.3, 1.3)])
        near = _near(shapes, sizes, rng)
        # a smooth sidestep, peaking 1.3 x the closest allowed distance, wide enough (1.65 x) to keep it
        h, width = 1.3 * near, 1.65 * near
        before, after = rng.uniform(2.7, 3.2), rng.uniform(1.8, 2.6)
        t0, t1 = rng.uniform(0.0, 0.1), rng.uniform(0.85, 1.0)
        s = -before + (before + after) * progress(t, t0, t1)
        pos = target + s[:, None] * u + (rng.choice([-1.0, 1.0]) * h * bump(s / width))[:, None] * n
        tracks = [Track(shapes[0], colors[0], pos, sizes[0], rotation=rots[0]),
                  Track(shapes[1], colors[1], np.tile(target, (len(t), 1)), sizes[1], rotation=rots[1])]
        params = dict(sizes=sizes, direction_deg=np.degrees(np.arctan2(u[1], u[0])), stationary=target, sidestep=h,
                      approach=before, beyond=after, start=t0, end=t1, shapes=shapes)
        # the straight run-up must be long enough to read as "heading for it"
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.1 and before - width > 0.6

    tracks, params = draw(rng, sample, "one object not colliding with a stationary one")
    return to_clip(tracks, params)


@motion("multiple_objects_moving_towards_each_other_but_not_colliding_among_themselves")
def many_near_miss(rng, ctx):
    """A pinwheel: 3-4 objects come in from around the stage on lines that all miss the centre by d on the
    same side, so they converge, slip past each other and go on outwards."""
    t = times(ctx)
    n = int(rng.integers(3, 5))
    shapes, colors = pick_shapes(rng, ctx, n), distinct_colors(rng, n)
    rots = [rand_yaw(rng) for _ in range(n)]

    def sample():
        sizes = rng.uniform(0.38, 0.5, n)
        d = _near(shapes, sizes, rng) / (2 * np.sin(np.pi / n))
        center = np.array([rng.uniform(-0.4, 0.4), rng.uniform(0.0, 0.4)])
        theta = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(n) / n
        spin = rng.choice([-1.0, 1.0])
        before, after = rng.uniform(2.0, 2.4), rng.uniform(1.2, 2.0)
        t0, t1 = rng.uniform(0.0, 0.1), rng.uniform(0.85, 1.0)
        s = -before + (before + after) * progress(t, t0, t1)
        local = np.c_[np.full_like(s, spin * d), s]
        tracks = [Track(shapes[k], colors[k], center + rot2(local, theta[k]), sizes[k], rotation=rots[k])
                  for k in range(n)]
        params = dict(sizes=sizes, center=center, miss_distance=d, headings_deg=np.degrees(theta) + 90,
                      approach=before, beyond=after, start=t0, end=t1, shapes=shapes)
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.1

    tracks, params = draw(rng, sample, "many objects not colliding")
    return to_clip(tracks, params)


@motion("two_objects_moving_in_opposite_directions_in_circular_path_but_not_colliding_later")
def circle_opposite_near_miss(rng, ctx):
    """Both go round the same circle, one counter-clockwise and one clockwise (seen from above); where they
    meet one moves to an inner lane and the other to an outer lane, and they pass."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)  # [counter-clockwise, clockwise]
    rots = [rand_yaw(rng), rand_yaw(rng)]

    def sample():
        sizes = rng.uniform(0.4, 0.55, 2)
        center = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.1, 0.3)])
        radius = rng.uniform(1.7, 2.1)
        h = _near(shapes, sizes, rng) / 2
        flat, ramp = 2 * h * rng.uniform(1.05, 1.2), rng.uniform(0.8, 1.2)
        a0, sweep = rng.uniform(0, 2 * np.pi), np.pi * rng.uniform(1.1, 1.4)
        t0, t1 = rng.uniform(0.0, 0.08), rng.uniform(0.9, 1.0)
        p = progress(t, t0, t1)
        ang_a = a0 + sweep * p
        ang_b = a0 + np.pi + rng.uniform(-0.3, 0.3) - sweep * p
        apart = np.angle(np.exp(1j * (ang_a - ang_b)))  # wrapped to (-pi, pi]
        lane = rng.choice([-1.0, 1.0]) * h * swerve(radius * apart, flat, ramp)
        a = center + (radius - lane)[:, None] * unit(ang_a)
        b = center + (radius + lane)[:, None] * unit(ang_b)
        tracks = [Track(shapes[0], colors[0], a, sizes[0], rotation=rots[0]),
                  Track(shapes[1], colors[1], b, sizes[1], rotation=rots[1])]
        params = dict(sizes=sizes, center=center, radius=radius, lane_offset=h, sweep_deg=np.degrees(sweep),
                      start=t0, end=t1, shapes=shapes)
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.1

    tracks, params = draw(rng, sample, "opposite directions on a circle")
    return to_clip(tracks, params)


@motion("one_object_moving_towards_multiple_stationary_objects_but_not_colliding")
def one_near_miss_many(rng, ctx):
    """Heads for a group of standing objects and gets past them untouched: either weaving (slalom) round two
    objects in its way, or threading the gap in a row of two or three."""
    t = times(ctx)
    mode = str(rng.choice(["slalom", "gap"]))
    k = 2 if mode == "slalom" else int(rng.integers(2, 4))
    shapes, colors = pick_shapes(rng, ctx, k + 1), distinct_colors(rng, k + 1)  # [mover, stationary...]
    rots = [rand_yaw(rng) for _ in range(k + 1)]

    def sample():
        sizes = rng.uniform(0.36, 0.46 if mode == "slalom" else 0.5, k + 1)
        u = lateral_direction(rng, 25)
        n = perp(u)
        center = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.2, 1.0)])
        t0, t1 = rng.uniform(0.0, 0.1), rng.uniform(0.85, 1.0)
        before, after = rng.uniform(2.6, 3.2), rng.uniform(2.2, 2.8)
        s = -before + (before + after) * progress(t, t0, t1)
        run_up = before  # straight approach before the mover starts to weave or reaches the row
        if mode == "slalom":
            # objects on the line, spaced so the mover can cross the line between them
            spacing = 2 * max(_near([shapes[0], shapes[j]], [sizes[0], sizes[j]], rng) for j in (1, 2))
            stations = center + np.outer([-spacing / 2, spacing / 2], u)
            amp = 1.25 * spacing / 2  # wide enough that the curve stays clear of both objects
            side = rng.choice([-1.0, 1.0])
            weave = side * amp * np.sin(np.pi * s / spacing) * (np.abs(s) <= spacing)
            run_up = before - spacing
            pos = center + s[:, None] * u + weave[:, None] * n
        else:
            # a row across the path; the mover threads the gap between its first two objects
            gap = [_near([shapes[0], shapes[j]], [sizes[0], sizes[j]], rng) for j in (1, 2)]
            lat = [-gap[0], gap[1]]
            if k == 3:
                lat.append(gap[1] + _near(shapes[2:4], sizes[2:4], rng))
            lat = np.array(lat) * rng.choice([-1.0, 1.0]) + rng.uniform(-0.1, 0.1)
            stations = center + np.outer(lat, n)
            pos = center + s[:, None] * u
        tracks = [Track(shapes[0], colors[0], pos, sizes[0], rotation=rots[0])]
        tracks += [Track(shapes[j + 1], colors[j + 1], np.tile(stations[j], (len(t), 1)), sizes[j + 1],
                         rotation=rots[j + 1]) for j in range(k)]
        params = dict(mode=mode, sizes=sizes, stationary=stations, direction_deg=np.degrees(np.arctan2(u[1], u[0])),
                      approach=before, beyond=after, start=t0, end=t1, shapes=shapes)
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.1 and run_up > 0.4

    tracks, params = draw(rng, sample, "one object not colliding with many")
    return to_clip(tracks, params)
