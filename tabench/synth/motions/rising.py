"""Rising (coarse class 16): an object lifts off the ground and goes up, along the named path.

Every rise starts resting on the ground (z = size), waits a moment, and ends high (2.8-3.4 units) before
the clip ends; height never decreases. Sideways motion, where the class has one, is mostly along the front
view's x, turned into the video camera's frame (`as_seen`) so it reads across the picture from every azimuth.
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._layout import as_seen, draw, lateral_direction, on_stage, rand_yaw
from tabench.synth.motions._timing import eased, times
from tabench.synth.motions._tracks import Track, to_clip
from tabench.synth.motions._util import random_color


def _rise(rng, ctx, path, name: str):
    """`path(p, rng)` maps rise progress p in [0, 1] (T,) to sideways offsets (T, 2) and the share of the
    rise done (T,), non-decreasing from 0 to 1, plus its params."""
    t = times(ctx)
    shape, color = str(rng.choice(ctx.shapes)), random_color(rng)
    r0 = rand_yaw(rng)

    def sample():
        size = rng.uniform(0.4, 0.65)
        base = np.array([rng.uniform(-1.5, 1.5), rng.uniform(-0.8, 1.5)])
        top = rng.uniform(2.8, 3.4)
        t0, t1 = rng.uniform(0.05, 0.2), rng.uniform(0.8, 0.97)
        p = eased(t, t0, t1)
        side, up, params = path(p, rng)
        z = size + (top - size) * up
        spin = rng.uniform(-1.0, 1.0) * np.pi * p  # a slow turn about z while rising
        rot = np.c_[np.zeros_like(p), np.zeros_like(p), r0[2] + spin]
        tr = Track(shape, color, np.c_[as_seen(ctx, base + side), z], size, rotation=rot)  # sideways on screen
        params = dict(size=size, base=base, top=top, start=t0, end=t1, shape=shape, **params)
        return [tr], params, on_stage([tr])

    tracks, params = draw(rng, sample, name)
    return to_clip(tracks, params)


def _straight_up(p, rng):
    return np.zeros((len(p), 2)), p, {}


def _zigzag(p, rng):
    """Sideways back and forth in straight legs (4-6 legs, so 3-5 reversals) while going up."""
    legs = int(rng.integers(4, 7))
    amp = rng.uniform(0.8, 1.2)
    u = lateral_direction(rng, 15)
    corners = amp * np.r_[0.0, [(-1.0) ** k for k in range(legs - 1)], 0.0]  # 0, +a, -a, ..., 0
    offset = np.interp(p, np.linspace(0, 1, legs + 1), corners)
    return offset[:, None] * u, p, dict(legs=legs, amplitude=amp, direction_deg=np.degrees(np.arctan2(u[1], u[0])))


def _at_an_angle(p, rng):
    """A straight slanted line: sideways distance grows in proportion to height."""
    u = lateral_direction(rng, 40)
    dist = rng.uniform(1.5, 2.8)
    return (dist * p)[:, None] * u, p, dict(sideways=dist, direction_deg=np.degrees(np.arctan2(u[1], u[0])))


def _curved(p, rng):
    """A quarter-ellipse arc: straight up at first and bending sideways (or the reverse), so the path is a
    clear curve rather than a slanted line."""
    u = lateral_direction(rng, 30)
    dist = rng.uniform(1.6, 2.6)
    theta = np.pi / 2 * p
    up_first = rng.random() < 0.5
    side, up = (1 - np.cos(theta), np.sin(theta)) if up_first else (np.sin(theta), 1 - np.cos(theta))
    return (dist * side)[:, None] * u, up, dict(sideways=dist, up_first=up_first,
                                                direction_deg=np.degrees(np.arctan2(u[1], u[0])))


@motion("single_object_rising_straight_up_without_changing_direction")
def rise_straight(rng, ctx):
    return _rise(rng, ctx, _straight_up, "rising straight up")


@motion("single_object_rising_in_a_zigzag_pattern")
def rise_zigzag(rng, ctx):
    return _rise(rng, ctx, _zigzag, "rising in a zigzag")


@motion("single_object_rising_at_an_angle")
def rise_at_angle(rng, ctx):
    return _rise(rng, ctx, _at_an_angle, "rising at an angle")


@motion("single_object_rising_at_a_curved_path")
def rise_curved(rng, ctx):
    return _rise(rng, ctx, _curved, "rising on a curve")
