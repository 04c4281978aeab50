"""Small helpers shared by the motion programs."""
from __future__ import annotations

import colorsys

import numpy as np


def random_color(rng: np.random.Generator, saturation=(0.6, 1.0), value=(0.6, 1.0)) -> tuple[float, float, float]:
    """A saturated random colour (the paper: random glossy colour per object)."""
    h = rng.uniform(0, 1)
    return tuple(float(c) for c in colorsys.hsv_to_rgb(h, rng.uniform(*saturation), rng.uniform(*value)))


def distinct_colors(rng: np.random.Generator, n: int) -> list[tuple[float, float, float]]:
    """n colours with well-separated hues."""
    h0 = rng.uniform(0, 1)
    return [tuple(float(c) for c in colorsys.hsv_to_rgb((h0 + i / n) % 1.0, rng.uniform(0.6, 1), rng.uniform(0.7, 1)))
            for i in range(n)]


def smoothstep(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def lerp(a, b, t):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a + (b - a) * np.asarray(t, float)[..., None] if np.ndim(t) else a + (b - a) * t


def timeline(num_frames: int) -> np.ndarray:
    """Normalised time in [0, 1] for each frame."""
    return np.linspace(0.0, 1.0, num_frames)
