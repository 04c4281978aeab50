"""Falling (coarse 9): an object drops from the air to the ground along the path the class names.

Sideways paths (at an angle, curved, zigzag) are drawn in the front view's frame and turned into the video
camera's (`as_seen`), so they run across the picture from every azimuth."""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._layout import as_seen, pick_shape, rand_size, rand_yaw
from tabench.synth.motions._tracks import Track, describe, to_clip
from tabench.synth.motions._util import random_color, timeline


def _setup(rng, ctx):
    """Size, start height (centre), release and landing times shared by the falling programs."""
    size = rand_size(rng, 0.45, 0.6)
    z0 = rng.uniform(3.0, 4.0 - size)
    t0, t1 = rng.uniform(0.05, 0.15), rng.uniform(0.65, 0.85)
    return size, z0, t0, t1


def _gravity(t, t0, t1) -> np.ndarray:
    """Fraction of the drop done: 0 until release, accelerating (u^2) to 1 at landing."""
    u = np.clip((t - t0) / (t1 - t0), 0, 1)
    return u * u


def _obj(rng, ctx, size, pos, rotation=None) -> Track:
    return Track(shape=pick_shape(rng, ctx), size=size, position=pos, color=random_color(rng),
                 rotation=rand_yaw(rng) if rotation is None else rotation)


@motion("single_object_falling_straight_down_without_changing_direction")
def falling_straight_down(rng, ctx):
    t = timeline(ctx.num_frames)
    size, z0, t0, t1 = _setup(rng, ctx)
    x, y = rng.uniform(-2.0, 2.0), rng.uniform(-1.5, 2.0)
    pos = np.c_[np.full_like(t, x), np.full_like(t, y), z0 + (size - z0) * _gravity(t, t0, t1)]
    obj = _obj(rng, ctx, size, pos)
    return to_clip([obj], {"objects": describe([obj]), "height": z0, "fall": [t0, t1]})


@motion("single_object_falling_at_an_angle")
def falling_at_an_angle(rng, ctx):
    """A straight slanted line: horizontal and vertical progress share one (accelerating) profile."""
    t = timeline(ctx.num_frames)
    size, z0, t0, t1 = _setup(rng, ctx)
    angle = rng.uniform(np.radians(35), np.radians(58))  # from the vertical
    heading = rng.choice([0.0, np.pi]) + rng.uniform(-0.35, 0.35)  # mostly left or right, as seen
    reach = (z0 - size) * np.tan(angle)
    d = reach * np.array([np.cos(heading), np.sin(heading)])
    start = np.array([-d[0] / 2 + rng.uniform(-0.4, 0.4), rng.uniform(-1.0, 1.5) - d[1] / 2])
    f = _gravity(t, t0, t1)
    pos = np.c_[start[0] + d[0] * f, start[1] + d[1] * f, z0 + (size - z0) * f]
    pos[:, :2] = as_seen(ctx, pos[:, :2])
    obj = _obj(rng, ctx, size, pos)
    return to_clip([obj], {"objects": describe([obj]), "height": z0, "fall": [t0, t1],
                                              "angle_from_vertical": angle, "heading": heading})


@motion("single_object_falling_at_a_curved_path")
def falling_curved(rng, ctx):
    """Thrown sideways: steady horizontal speed, accelerating drop, so the path bends (a parabola)."""
    t = timeline(ctx.num_frames)
    size, z0, t0, t1 = _setup(rng, ctx)
    direction = rng.choice([-1.0, 1.0])
    reach = rng.uniform(3.0, 4.5)
    x0, y = -direction * reach / 2 + rng.uniform(-0.3, 0.3), rng.uniform(-1.5, 2.0)
    u = np.clip((t - t0) / (t1 - t0), 0, 1)
    pos = np.c_[x0 + direction * reach * u, np.full_like(t, y), z0 + (size - z0) * u * u]
    pos[:, :2] = as_seen(ctx, pos[:, :2])
    obj = _obj(rng, ctx, size, pos)
    return to_clip([obj], {"objects": describe([obj]), "height": z0, "fall": [t0, t1],
                                              "direction": direction, "reach": reach})


@motion("single_object_falling_down_in_a_zigzag_pattern")
def falling_zigzag(rng, ctx):
    """Drifts down at a steady rate while swinging left and right in straight legs, tilting into each."""
    t = timeline(ctx.num_frames)
    size, z0, t0, t1 = _setup(rng, ctx)
    legs = int(rng.integers(4, 7))
    amp = rng.uniform(0.8, 1.3)
    first = rng.choice([-1.0, 1.0])
    u = np.clip((t - t0) / (t1 - t0), 0, 1)
    phase = u * legs
    tri = 1 - 2 * np.abs(((phase + 0.5) % 2) - 1)  # triangle wave: +-1 corners at leg ends (starts at 0)
    x0, y = rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 2.0)
    x = x0 + first * amp * tri
    z = z0 + (size - z0) * u
    heading = np.gradient(x)
    tilt = -0.35 * np.sign(heading) * np.clip((1 - u) * 6, 0, 1)  # level again on landing
    pos = np.c_[x, np.full_like(t, y), z]
    pos[:, :2] = as_seen(ctx, pos[:, :2])
    rot = np.c_[np.zeros_like(t), tilt, np.full_like(t, rng.uniform(0, np.pi / 2))]
    obj = _obj(rng, ctx, size, pos, rotation=rot)
    return to_clip([obj], {"objects": describe([obj]), "height": z0, "fall": [t0, t1],
                                              "legs": legs, "amplitude": amp, "first_direction": first})
