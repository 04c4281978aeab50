"""Not colliding (coarse class 13): objects head for each other and stop short, keeping a clear gap.

As in the paper, the objects stay at least `MISS` apart (its 4 units). The layouts are drawn in the frame of
the viewer of the class's camera family (`scene.camera_family`: around the front) so that the gap lies
across the screen in both views: a near miss in depth would overlap on screen and look like contact (see
`tabench.synth.visibility`, which checks the gap in pixels). Approaches are mostly sideways; where more
than two objects meet, their final places are spread across the screen. Each layout is drawn in the front
view's frame and turned to face the video's own camera (`face_camera`): in the stage frame the camera's
azimuth of 75-105 degrees added up to 15 degrees of depth to an approach.
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._geometry import unit
from tabench.synth.motions._layout import as_seen, clearance, draw, on_stage, pick_shapes, rand_yaw, reach
from tabench.synth.motions._timing import eased, times
from tabench.synth.motions._tracks import Track, to_clip
from tabench.synth.motions._util import distinct_colors

MISS = (1.0, 1.4)  # free space left between objects when they stop: the paper's 4 units (1 stage unit)


def _widths(shapes, sizes) -> np.ndarray:
    return np.array([reach(s) * z for s, z in zip(shapes, sizes)])


def face_camera(ctx, tracks) -> list[Track]:
    """The tracks' ground positions, laid out in the front view's frame, turned about the stage centre into
    the video camera's (`as_seen`), in place."""
    for tr in tracks:
        tr.position[:, :2] = as_seen(ctx, tr.position[:, :2])
    return tracks


def _window(rng) -> tuple[float, float]:
    """Start at once or nearly; stop by 70-90 % of the clip, so the stop is seen."""
    return float(rng.uniform(0.0, 0.12)), float(rng.uniform(0.7, 0.9))


@motion("two_objects_moving_towards_each_other_but_not_colliding")
def two_stop_short(rng, ctx):
    """Head-on along one lane, from both sides of the stage; both slow down and stop a clear gap apart."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)
    rots = [rand_yaw(rng), rand_yaw(rng)]

    def sample():
        sizes = rng.uniform(0.4, 0.55, 2)
        w = _widths(shapes, sizes)
        u = unit(np.radians(rng.uniform(-12, 12)))
        mid = np.array([rng.uniform(-0.25, 0.25), rng.uniform(-0.8, 1.6)])
        gap = rng.uniform(*MISS)
        start = rng.uniform(2.45, 2.85)  # half the centre distance at the start
        end = (w.sum() + gap) / 2
        t0, t1 = _window(rng)
        s = start + (end - start) * eased(t, t0, t1)
        a, b = mid - s[:, None] * u, mid + s[:, None] * u
        tracks = [Track(shapes[0], colors[0], a, sizes[0], rotation=rots[0]),
                  Track(shapes[1], colors[1], b, sizes[1], rotation=rots[1])]
        params = dict(sizes=sizes, direction_deg=np.degrees(np.arctan2(u[1], u[0])), midpoint=mid, gap=gap,
                      start=t0, end=t1, shapes=shapes)
        face_camera(ctx, tracks)
        return tracks, params, on_stage(tracks) and clearance(tracks) >= 0.95 * MISS[0]

    tracks, params = draw(rng, sample, "two objects not colliding")
    return to_clip(tracks, params)


@motion("single_object_moving_towards_single_stationary_object_but_not_colliding_with_it")
def one_stop_short_of_stationary(rng, ctx):
    """Heads straight at a standing object from one side and stops a clear gap before it. The standing object
    is 0.6-2.2 units off the centre and the mover starts 3.8-5.2 units from it, where the stage allows: an
    approach of 1.5-2.8 units (it was at most 2.2: 0.08 of the front picture)."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)  # [mover, stationary]
    rots = [rand_yaw(rng), rand_yaw(rng)]

    def sample():
        sizes = np.array([rng.uniform(0.38, 0.5), rng.uniform(0.4, 0.55)])
        w = _widths(shapes, sizes)
        side = rng.choice([-1.0, 1.0])  # the mover comes from this side
        u = -side * unit(np.radians(rng.uniform(-12, 12)))  # its heading
        target = np.array([-side * rng.uniform(0.6, 2.2), rng.uniform(-0.8, 1.6)])
        gap = rng.uniform(*MISS)
        far, near = rng.uniform(3.8, 5.2), w.sum() + gap  # centre distances at the start and at the stop
        t0, t1 = _window(rng)
        d = far + (near - far) * eased(t, t0, t1)
        pos = target - d[:, None] * u
        tracks = [Track(shapes[0], colors[0], pos, sizes[0], rotation=rots[0]),
                  Track(shapes[1], colors[1], np.tile(target, (len(t), 1)), sizes[1], rotation=rots[1])]
        params = dict(sizes=sizes, direction_deg=np.degrees(np.arctan2(u[1], u[0])), stationary=target, gap=gap,
                      start=t0, end=t1, shapes=shapes)
        face_camera(ctx, tracks)
        return tracks, params, on_stage(tracks) and clearance(tracks) >= 0.95 * MISS[0]

    tracks, params = draw(rng, sample, "one object not colliding with a stationary one")
    return to_clip(tracks, params)


@motion("multiple_objects_moving_towards_each_other_but_not_colliding_among_themselves")
def three_stop_short(rng, ctx):
    """Three objects converge on a point from three sides (one from the back, two from the front left and
    right) and stop on a circle around it, spread across the screen."""
    t = times(ctx)
    n = 3
    shapes, colors = pick_shapes(rng, ctx, n), distinct_colors(rng, n)
    rots = [rand_yaw(rng) for _ in range(n)]

    def sample():
        sizes = rng.uniform(0.36, 0.46, n)
        w = _widths(shapes, sizes)
        theta = np.radians(np.array([90.0, 210.0, 330.0]) + rng.uniform(-8, 8, n))
        d = unit(theta)
        # final radius: every pair's lateral (x) gap at least MISS[0] / 2, every 3D gap at least MISS[0]
        need = max((w[i] + w[j] + 0.5 * MISS[0]) / max(abs(d[i, 0] - d[j, 0]), 1e-6)
                   for i in range(n) for j in range(i + 1, n))
        radius = need * rng.uniform(1.0, 1.1)
        center = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2)])
        travel = np.array([rng.uniform(0.7, 1.0), rng.uniform(1.0, 1.6), rng.uniform(1.0, 1.6)])
        t0, t1 = _window(rng)
        p = eased(t, t0, t1)
        tracks = [Track(shapes[k], colors[k], center + (radius + travel[k] * (1 - p))[:, None] * d[k], sizes[k],
                        rotation=rots[k]) for k in range(n)]
        params = dict(sizes=sizes, center=center, radius=radius, headings_deg=np.degrees(theta) + 180,
                      travel=travel, start=t0, end=t1, shapes=shapes)
        face_camera(ctx, tracks)
        return tracks, params, on_stage(tracks) and clearance(tracks) >= 0.95 * MISS[0]

    tracks, params = draw(rng, sample, "many objects not colliding")
    return to_clip(tracks, params)


@motion("two_objects_moving_in_opposite_directions_in_circular_path_but_not_colliding_later")
def circle_opposite_stop_short(rng, ctx):
    """Both start side by side, a clear gap apart, at the front of a circle and go round it in opposite
    directions, one counter-clockwise and one clockwise (seen from above): apart, round the left and right
    ends, and towards each other at its back, where they stop a clear gap apart. Each goes round half the
    circle (from its left and right ends they went a quarter: from the front a short sideways curve, 0.09
    of the picture)."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)  # [counter-clockwise, clockwise]
    rots = [rand_yaw(rng), rand_yaw(rng)]

    def sample():
        sizes = rng.uniform(0.4, 0.52, 2)
        w = _widths(shapes, sizes)
        center = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.1, 0.5)])
        radius = rng.uniform(1.9, 2.5)
        gap0, gap1 = rng.uniform(*MISS, 2)  # at the start and at the stop
        half0 = np.arcsin(min(1.0, (w.sum() + gap0) / (2 * radius)))  # half the angle between them at the start
        half1 = np.arcsin(min(1.0, (w.sum() + gap1) / (2 * radius)))  # ... and at the stop
        front, back = -np.pi / 2 + rng.uniform(-0.15, 0.15), np.pi / 2 + rng.uniform(-0.15, 0.15)
        t0, t1 = _window(rng)
        p = eased(t, t0, t1)
        ang_a = (front + half0) + ((back - half1) - (front + half0)) * p  # right half, counter-clockwise
        ang_b = (front - half0) + ((back + half1 - 2 * np.pi) - (front - half0)) * p  # left half, clockwise
        a, b = center + radius * unit(ang_a), center + radius * unit(ang_b)
        tracks = [Track(shapes[0], colors[0], a, sizes[0], rotation=rots[0]),
                  Track(shapes[1], colors[1], b, sizes[1], rotation=rots[1])]
        params = dict(sizes=sizes, center=center, radius=radius, gaps=[gap0, gap1], start=t0, end=t1,
                      shapes=shapes)
        face_camera(ctx, tracks)
        return tracks, params, on_stage(tracks) and clearance(tracks) >= 0.95 * MISS[0]

    tracks, params = draw(rng, sample, "opposite directions on a circle")
    return to_clip(tracks, params)


@motion("one_object_moving_towards_multiple_stationary_objects_but_not_colliding")
def one_stop_short_of_many(rng, ctx):
    """Heads for a group of two or three standing objects, spread across the screen on the far side, and
    stops a clear gap before the nearest."""
    t = times(ctx)
    k = int(rng.integers(2, 4))
    shapes, colors = pick_shapes(rng, ctx, k + 1), distinct_colors(rng, k + 1)  # [mover, stationary...]
    rots = [rand_yaw(rng) for _ in range(k + 1)]

    def sample():
        sizes = rng.uniform(0.3, 0.4, k + 1)
        w = _widths(shapes, sizes)
        side = rng.choice([-1.0, 1.0])  # the mover comes from this side
        y = rng.uniform(-0.4, 1.0)
        gap = rng.uniform(*MISS)
        # the group on the far side: each next one a step further across the screen and in another depth
        # lane, so every pair keeps MISS apart in 3D and a gap across the screen
        xs, ys = [-side * rng.uniform(-0.4, 0.1)], [y]
        for j in range(1, k):
            xs.append(xs[-1] - side * (w[j] + w[j + 1] + rng.uniform(0.35, 0.5)))
            ys.append(y + (1 if j % 2 else -1) * rng.uniform(1.2, 1.5) * (1 if j < 2 else 0.0))
        stations = np.c_[xs, ys]
        u = -side * unit(np.radians(rng.uniform(-10, 10)))
        near = w[0] + w[1] + gap
        far = near + rng.uniform(1.5, 2.0)  # a clear approach on screen (it was 0.4-1.0: 2-9 % of the picture)
        xs_all = np.r_[stations[:, 0], stations[0, 0] - far * u[0]]
        stations[:, 0] -= (xs_all.max() + xs_all.min()) / 2  # the whole layout centred across the stage
        t0, t1 = _window(rng)
        d = far + (near - far) * eased(t, t0, t1)
        pos = stations[0] - d[:, None] * u
        tracks = [Track(shapes[0], colors[0], pos, sizes[0], rotation=rots[0])]
        tracks += [Track(shapes[j + 1], colors[j + 1], np.tile(stations[j], (len(t), 1)), sizes[j + 1],
                         rotation=rots[j + 1]) for j in range(k)]
        params = dict(sizes=sizes, stationary=stations, direction_deg=np.degrees(np.arctan2(u[1], u[0])), gap=gap,
                      start=t0, end=t1, shapes=shapes)
        face_camera(ctx, tracks)
        return tracks, params, on_stage(tracks) and clearance(tracks) >= 0.95 * MISS[0]

    tracks, params = draw(rng, sample, "one object not colliding with many")
    return to_clip(tracks, params)
