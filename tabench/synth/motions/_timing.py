"""Time profiles of the motion programs, all on normalised time t in [0, 1] (see `_util.timeline`).

Working in normalised time makes the named event fit the clip whatever its length; `min_span` converts a
number of frames into normalised time where an event needs a minimum duration on screen.
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import MotionContext
from tabench.synth.motions._util import smoothstep, timeline


def times(ctx: MotionContext) -> np.ndarray:
    return timeline(ctx.num_frames)


def progress(t, t0: float, t1: float) -> np.ndarray:
    """Linear 0 -> 1 between normalised times t0 and t1 (constant speed)."""
    return np.clip((np.asarray(t, float) - t0) / max(t1 - t0, 1e-9), 0.0, 1.0)


def ramp(t, t0: float, t1: float, ease=smoothstep) -> np.ndarray:
    """0 before t0, 1 after t1, eased in between (smoothly by default: starts and stops gently)."""
    return ease(progress(t, t0, t1))


def eased(t, t0: float, t1: float) -> np.ndarray:
    """Smooth 0 -> 1 between t0 and t1 (the same as `ramp` with its default easing)."""
    return ramp(t, t0, t1)


def ease_in(u):
    """Starts at rest and speeds up (departing, falling)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u


def ease_out(u):
    """Arrives fast and slows to rest (arriving)."""
    u = np.clip(u, 0.0, 1.0)
    return 1 - (1 - u) ** 2


def bump(x, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    """A smooth single hump over [lo, hi] (cos^2 of the centred coordinate): 1 in the middle, falling to 0 at
    both ends, 0 outside. With the defaults, a window of half-width 1 around 0."""
    u = (np.asarray(x, float) - (lo + hi) / 2) / ((hi - lo) / 2)
    return np.where(np.abs(u) < 1, np.cos(np.pi * np.clip(u, -1, 1) / 2) ** 2, 0.0)


def min_span(ctx: MotionContext, frames: int) -> float:
    """A duration in normalised time that lasts at least `frames` frames."""
    return frames / max(ctx.num_frames - 1, 1)


def bounce_heights(t: np.ndarray, h0: float, e: float, t0: float, time_scale: float, min_h: float = 0.04):
    """Height above rest of an object dropped from rest at height h0 at time t0 that bounces with
    restitution e until the bounces are smaller than min_h. `time_scale` is the normalised duration of the
    first fall (sqrt(2 h0 / g)); the bounce durations follow from physics (each arc is e times the last).
    Returns (heights, stop_time)."""
    t = np.asarray(t, float)
    h = np.zeros_like(t)
    h[t < t0] = h0
    tau = t - t0  # first fall: h = h0 (1 - (tau / T0)^2)
    fall = (tau >= 0) & (tau < time_scale)
    h[fall] = h0 * (1 - (tau[fall] / time_scale) ** 2)
    start, k = t0 + time_scale, 1
    while h0 * e ** (2 * k) >= min_h:
        hk, dk = h0 * e ** (2 * k), 2 * time_scale * e ** k
        m = (t >= start) & (t < start + dk)
        u = (t[m] - start) / dk
        h[m] = 4 * hk * u * (1 - u)
        start += dk
        k += 1
    return h, start


def bounce_duration(e: float, h0: float, min_h: float = 0.04) -> float:
    """Duration of `bounce_heights` in units of the first fall's duration."""
    total, k = 1.0, 1
    while h0 * e ** (2 * k) >= min_h:
        total += 2 * e ** k
        k += 1
    return total


def hop(u: np.ndarray, z0: float, z1: float, apex: float) -> np.ndarray:
    """A parabolic hop from height z0 to z1 (u in [0, 1]) rising `apex` above the straight line."""
    u = np.clip(u, 0.0, 1.0)
    return z0 + (z1 - z0) * u + 4 * apex * u * (1 - u)
