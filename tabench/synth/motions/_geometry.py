"""Ground-plane and screen geometry of the motion programs: directions, paths at even speed, and the
approximate on-screen overlap used to make occlusion classes really overlap.
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions._util import smoothstep
from tabench.synth.scene import Camera, orbit_camera

# Nominal cameras of the two views for classes seen from the front (camera family "viewer": azimuths
# 75-105), at the middle of scene.make_camera's ranges; used to make sure occlusion classes really overlap.
NOMINAL_CAMERAS = (
    orbit_camera("elevated", 90.0, 8.1, 6.25),
    orbit_camera("front", 90.0, 8.75, 1.875),
)


# ----- geometry -------------------------------------------------------------------------------------------
def unit(angle) -> np.ndarray:
    return np.stack([np.cos(angle), np.sin(angle)], axis=-1)


def perp(v: np.ndarray) -> np.ndarray:
    """The ground direction 90 degrees counter-clockwise (seen from above) from v."""
    return np.stack([-v[..., 1], v[..., 0]], axis=-1)


def rot2(v, angle) -> np.ndarray:
    """Rotate 2D vectors counter-clockwise (seen from above) by angle."""
    v = np.asarray(v, float)
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], axis=-1)


def swerve(s, flat: float, ramp: float) -> np.ndarray:
    """Sideways-offset profile (0..1) along a path coordinate s: 1 for |s| <= flat, easing to 0 over `ramp`.
    An object offset by h * swerve(s) with flat >= h passes a point at s = 0 no closer than h."""
    return smoothstep((flat + ramp - np.abs(np.asarray(s, float))) / ramp)


def along(points: np.ndarray, s) -> np.ndarray:
    """Positions at arc lengths `s` along a polyline (N, D); used to move at even speed on curved paths."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    cum = np.r_[0.0, np.cumsum(seg)]
    s = np.clip(np.asarray(s, float), 0, cum[-1])
    return np.stack([np.interp(s, cum, points[:, k]) for k in range(points.shape[1])], axis=-1)


def arc_length(points: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())


def screen_disk(camera: Camera, position, radius: float) -> tuple[np.ndarray, float, float]:
    """Approximate image of an object: centre (normalised image units, height = 1), radius, depth."""
    p = camera.project(np.asarray(position, float)[None], 1, 1)[0]
    f = 0.5 / np.tan(np.radians(camera.fov_y_deg) / 2)
    return p[:2], float(radius * f / p[2]), float(p[2])


def disk_overlap(c1, r1: float, c2, r2: float) -> float:
    """Area of the intersection of two disks."""
    d = float(np.linalg.norm(np.asarray(c1) - np.asarray(c2)))
    if d >= r1 + r2:
        return 0.0
    if d <= abs(r1 - r2):
        return float(np.pi * min(r1, r2) ** 2)
    a1 = r1 * r1 * np.arccos((d * d + r1 * r1 - r2 * r2) / (2 * d * r1))
    a2 = r2 * r2 * np.arccos((d * d + r2 * r2 - r1 * r1) / (2 * d * r2))
    return float(a1 + a2 - 0.5 * np.sqrt((-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2)))


def hidden_fraction(camera: Camera, front_pos, front_r: float, back_pos, back_r: float) -> float:
    """Share of the farther object's image disk covered by the nearer one (0 when none overlaps)."""
    c1, r1, z1 = screen_disk(camera, front_pos, front_r)
    c2, r2, z2 = screen_disk(camera, back_pos, back_r)
    if z1 > z2:
        c1, r1, c2, r2 = c2, r2, c1, r1
    return disk_overlap(c1, r1, c2, r2) / (np.pi * r2 * r2)
