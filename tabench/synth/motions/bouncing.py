"""Bouncing (coarse 2): objects hitting the ground and rebounding, or moving as if bouncing down or up stairs
or against a wall. As in the paper, the stairs and the wall are not in the scene (a static object present
in one class only would name the class from a single frame): the motion alone says "stairs" or "wall".

Bounces follow simple physics (parabolic arcs, each rebound keeping a fraction `e` of the speed), squeezed
into the clip's normalised time so the whole event fits any clip length.
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._layout import (FOOTPRINT, across_screen, pick_shape, pick_shapes, rand_size, rand_yaw,
                                          scatter, top_in_view)
from tabench.synth.motions._timing import bounce_duration, bounce_heights, hop
from tabench.synth.motions._tracks import Track, const, describe, to_clip
from tabench.synth.motions._util import distinct_colors, random_color, timeline


def _drops(rng, ctx, heights, restitutions):
    """Objects dropped together from the given heights; one gravity for all, so lower drops settle sooner."""
    t = timeline(ctx.num_frames)
    k = len(heights)
    sizes = [rand_size(rng, 0.45, 0.65) for _ in range(k)]
    if k == 1:
        xy = scatter(rng, sizes, x=(-2.6, 2.6), y=(-1.5, 2.5), gap=0.6)
    else:  # in a row across the picture at one distance from the camera: drop heights compare on screen as
        # they are ("very different" / "almost similar"), not as perspective makes them
        reach = FOOTPRINT * np.array(sizes)
        steps = [reach[i] + reach[i + 1] + rng.uniform(0.4, 0.6) for i in range(k - 1)]
        offsets = np.r_[0.0, np.cumsum(steps)]
        xy = across_screen(ctx, offsets - offsets.mean(), rng.uniform(-0.6, 0.6))
    # every drop starts inside the picture of the video's camera (from the front, drops of 3 units started above
    # its top edge): all heights scaled by one factor, so their ratios ("very different", "almost similar") hold
    room = min(top_in_view(ctx, xy[i]) - 2 * sizes[i] - 0.2 for i in range(k))
    heights = list(np.asarray(heights) * min(1.0, room / max(heights)))
    t0, t_stop = rng.uniform(0.0, 0.08), rng.uniform(0.65, 0.8)
    unit = (t_stop - t0) / max(np.sqrt(h) * bounce_duration(e, h) for h, e in zip(heights, restitutions))
    shapes, colors = pick_shapes(rng, ctx, k), distinct_colors(rng, k)
    tracks = []
    for i, (h0, e) in enumerate(zip(heights, restitutions)):
        h, _ = bounce_heights(t, h0, e, t0, unit * np.sqrt(h0))  # fall time grows with sqrt(height)
        pos = const(ctx.num_frames, (xy[i, 0], xy[i, 1], sizes[i]))
        pos[:, 2] += h
        tracks.append(Track(shape=shapes[i], size=sizes[i], position=pos, color=colors[i], rotation=rand_yaw(rng)))
    params = {"objects": describe(tracks), "drop_heights": heights, "restitution": restitutions, "start": t0,
              "settle_by": t_stop}
    return to_clip(tracks, params)


@motion("single_ball_bouncing_on_a_plain_surface_eventually_stops")
def single_ball_bouncing_stops(rng, ctx):
    return _drops(rng, ctx, [rng.uniform(2.2, 3.2)], [rng.uniform(0.6, 0.72)])


@motion("multiple_balls_bouncing_on_plain_surface_at_very_different_heights_eventually_stop")
def multiple_balls_very_different_heights(rng, ctx):
    """Drop heights a factor of ~2 or more apart (low, middle, high)."""
    k = int(rng.integers(2, 4))
    ladder = [rng.uniform(0.8, 1.05), rng.uniform(1.8, 2.1), rng.uniform(2.9, 3.2)]
    heights = [ladder[0], ladder[2]] if k == 2 else ladder
    heights = [heights[i] for i in rng.permutation(k)]
    return _drops(rng, ctx, heights, list(rng.uniform(0.6, 0.72, size=k)))


@motion("multiple_objects_bouncing_on_plain_surface_at_almost_similar_heights_eventually_stop")
def multiple_objects_similar_heights(rng, ctx):
    k = int(rng.integers(2, 4))
    base = rng.uniform(2.0, 2.9)
    heights = list(base * (1 + rng.uniform(-0.06, 0.06, size=k)))
    return _drops(rng, ctx, heights, list(rng.uniform(0.62, 0.7, size=k)))


def _hops(t, t0, t1, heights):
    """Height above rest for consecutive hops filling [t0, t1]; hop durations follow sqrt(height)."""
    durations = np.sqrt(heights)
    edges = t0 + (t1 - t0) * np.r_[0, np.cumsum(durations)] / durations.sum()
    h = np.zeros_like(t)
    for a, b, hk in zip(edges[:-1], edges[1:], heights):
        m = (t >= a) & (t < b)
        u = (t[m] - a) / (b - a)
        h[m] = 4 * hk * u * (1 - u)
    return h, edges


@motion("single_object_bouncing_on_a_plain_surface_perpetually")
def single_object_bouncing_perpetually(rng, ctx):
    """Elastic bounces of equal height that go on to the end of the clip."""
    t = timeline(ctx.num_frames)
    size = rand_size(rng)
    hops = int(rng.integers(4, 6))  # at least 3 ground contacts inside the clip
    height = rng.uniform(1.5, 2.8)
    phase = rng.uniform(0, 1)
    u = (t * hops + phase) % 1.0
    (xy,) = scatter(rng, [size], x=(-2.0, 2.0), y=(-1.0, 2.0))
    pos = const(ctx.num_frames, (xy[0], xy[1], size))
    pos[:, 2] += 4 * height * u * (1 - u)
    obj = Track(shape=pick_shape(rng, ctx), size=size, position=pos, color=random_color(rng), rotation=rand_yaw(rng))
    return to_clip([obj], {"objects": describe([obj]), "bounces": hops, "height": height,
                                              "phase": phase})


@motion("single_object_bouncing_and_going_forward")
def single_object_bouncing_forward(rng, ctx):
    """Hops of slowly decaying height while travelling steadily left or right."""
    t = timeline(ctx.num_frames)
    size = rand_size(rng)
    k = int(rng.integers(4, 7))
    heights = rng.uniform(1.0, 2.0) * rng.uniform(0.8, 0.92) ** np.arange(k)
    t0, t1 = rng.uniform(0.02, 0.08), rng.uniform(0.88, 0.97)
    h, edges = _hops(t, t0, t1, heights)
    direction = int(rng.choice([-1, 1]))
    distance = rng.uniform(4.5, 6.0)
    x0 = -direction * distance / 2 + rng.uniform(-0.3, 0.3)
    y = rng.uniform(-1.5, 2.0)
    pos = const(ctx.num_frames, (0.0, y, size))
    pos[:, 0] = x0 + direction * distance * np.clip((t - t0) / (t1 - t0), 0, 1)
    pos[:, 2] += h
    obj = Track(shape=pick_shape(rng, ctx), size=size, position=pos, color=random_color(rng), rotation=rand_yaw(rng))
    return to_clip([obj], {"objects": describe([obj]), "direction": direction,
                                              "distance": distance, "hop_heights": heights, "hop_times": edges})


def _stairs(rng, ctx, down: bool):
    """Hops from step to step of invisible stairs (down: top step -> ground; up: ground -> top step): the
    object rests on each step's height between hops. Each hop is as high as it would need to be for the
    footprint to clear the edge of the higher step (see `need` below)."""
    n, t = ctx.num_frames, timeline(ctx.num_frames)
    size = rand_size(rng, 0.4, 0.47)
    steps, width, rise = 3, rng.uniform(1.35, 1.55), rng.uniform(0.4, 0.55)
    direction = int(rng.choice([-1, 1]))  # +1: the stairs go down towards +x
    x_top = -direction * (steps * width + size - width / 2) / 2 + rng.uniform(-0.2, 0.2)
    y = rng.uniform(-1.0, 1.5)
    centres = x_top + direction * width * np.arange(steps + 1)  # step i's centre; index `steps` is the ground
    tops = rise * (steps - np.arange(steps + 1))
    need = rise / (4 * (0.5 - size / width))  # apex that keeps the footprint above the higher step's top
    apexes = np.maximum(need * 1.1, rng.uniform(0.45, 0.8, size=steps))
    s0, s1 = rng.uniform(0.05, 0.15), rng.uniform(0.8, 0.9)
    # Build the way down on a time axis s; going up is the same path played backwards.
    s = t if down else 1.0 - t
    window = [s0, s1] if down else [1.0 - s1, 1.0 - s0]
    edges = np.linspace(s0, s1, steps + 1)
    x = np.full(n, centres[0])
    z = np.full(n, tops[0] + size)
    for i in range(steps):
        u = np.clip((s - edges[i]) / (edges[i + 1] - edges[i]), 0, 1)
        m = s >= edges[i]
        x[m] = centres[i] + (centres[i + 1] - centres[i]) * u[m]
        z[m] = hop(u[m], tops[i] + size, tops[i + 1] + size, apexes[i])
    pos = np.c_[x, np.full(n, y), z]
    obj = Track(shape=pick_shape(rng, ctx), size=size, position=pos, color=random_color(rng))
    params = {"objects": describe([obj]), "direction": direction, "steps": steps, "step_width": width,
              "step_rise": rise, "apexes": apexes, "window": window}
    return to_clip([obj], params)


@motion("single_object_imitating_the_motion_of_bouncing_and_going_down_stairs")
def single_object_bouncing_down_stairs(rng, ctx):
    return _stairs(rng, ctx, down=True)


@motion("single_object_imitating_the_motion_of_bouncing_and_going_up_stairs")
def single_object_bouncing_up_stairs(rng, ctx):
    return _stairs(rng, ctx, down=False)


def _throw(size, x0, face, side, tau, h_hit, e_wall, e_ground=0.45, g=9.8, dt=1e-3, t_max=6.0):
    """Simulate the centre (x, z) of an object thrown from the ground at a wall whose face is at x = face:
    it hits the wall at height h_hit after tau seconds, rebounds, bounces on the ground and slides to rest."""
    x, z = x0, size
    vx = (face - side * size - x0) / tau
    vz = (h_hit + g * tau * tau / 2) / tau
    xs, zs, hit = [x], [z], None
    resting = False
    for step in range(int(t_max / dt)):
        if resting:
            vx = np.sign(vx) * max(abs(vx) - 4.0 * dt, 0.0)  # sliding friction
        else:
            vz -= g * dt
        x, z = x + vx * dt, z + vz * dt
        if side * (x + side * size - face) > 0:  # touches the wall face
            x, vx = face - side * size, -e_wall * vx
            hit = hit if hit is not None else step + 1  # index into xs/zs
        if z < size:  # touches the ground
            z, vz, vx = size, -e_ground * vz, 0.8 * vx
            resting = resting or vz < 1.0
            if resting:
                vz = 0.0
        xs.append(x)
        zs.append(z)
        if resting and vx == 0.0:
            break
    return np.array(xs), np.array(zs), hit


@motion("single_object_imitating_the_motion_of_bouncing_against_a_wall")
def single_object_bouncing_against_wall(rng, ctx):
    """Thrown from the ground at an (invisible) wall, rebounds off it, bounces on the ground and slides to
    a stop."""
    t = timeline(ctx.num_frames)
    for _ in range(200):
        size = rand_size(rng, 0.45, 0.6)
        side = int(rng.choice([-1, 1]))  # the wall is on the right (+1) or left (-1)
        wall_x, thick = side * rng.uniform(2.5, 3.0), 0.12
        face = wall_x - side * thick
        x0 = face - side * rng.uniform(3.5, 4.8)
        tau, h_hit, e_wall = rng.uniform(0.45, 0.65), rng.uniform(0.8, 1.5), rng.uniform(0.6, 0.8)
        xs, zs, hit = _throw(size, x0, face, side, tau, h_hit, e_wall)
        if hit is not None and np.abs(xs).max() <= 3.3 and zs.max() <= 3.6:
            break
    else:
        raise RuntimeError("no throw fits the stage")
    t0, t1 = rng.uniform(0.05, 0.15), rng.uniform(0.8, 0.92)
    # Clip time -> simulation step, with the wall hit put exactly on a frame so the contact is seen.
    t_hit = t[np.argmin(np.abs(t - (t0 + (t1 - t0) * hit / (len(xs) - 1))))]
    phys = np.interp(t, [t0, t_hit, t1], [0, hit, len(xs) - 1])
    y = rng.uniform(-1.0, 1.5)
    pos = np.c_[np.interp(phys, np.arange(len(xs)), xs), np.full(len(t), y), np.interp(phys, np.arange(len(zs)), zs)]
    obj = Track(shape=pick_shape(rng, ctx), size=size, position=pos, color=random_color(rng))
    params = {"objects": describe([obj]), "wall_side": side, "wall_x": wall_x, "throw_time": tau,
              "hit_height": h_hit, "wall_restitution": e_wall, "window": [t0, t1],
              "hit_at": t_hit}
    return to_clip([obj], params)
