"""Helpers for the motion programs of coarse classes 10-19 (following ... teleporting).

Each program describes its objects as `Track`s: per-frame numpy arrays computed in normalised time
(t in [0, 1]), so the named event always fits the clip whatever its length. `to_clip` turns the tracks into
the per-frame `ObjectState`s the renderer reads. Programs draw their random layout with `draw`, which
re-draws until the layout passes the program's own checks (objects on stage, no touching): rejection
sampling keeps each program a plain description of the motion instead of a pile of special cases.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from tabench import TabenchError
from tabench.synth.motions import MotionContext
from tabench.synth.motions._util import smoothstep, timeline
from tabench.synth.scene import Camera, Clip, ObjectState, Prop

# Where visible objects may go: inside the stage bounds of the contract ([-3.5, 3.5] x [-3.5, 3.5] x
# [0, 4]) with a margin, so objects stay in frame for both camera families.
X_LIM = 3.0
Y_LIM = (-2.6, 3.0)
Z_MAX = 3.6
# A shape turned about z reaches further than its half-extent (a cube's corner: size * sqrt(2)); layouts
# keep this much room so that no corner pokes into a neighbour whatever the yaw.
REACH = 1.42
ROUND_SHAPES = ("sphere", "cylinder", "torus", "capsule", "cone")  # reach = size in the ground plane


def reach(shape: str) -> float:
    """How far (in units of `size`) a shape reaches from its centre in the ground plane, for any yaw."""
    return 1.0 if shape in ROUND_SHAPES else REACH

# Nominal cameras of the two view families (scene.make_camera without its random jitter); used to make sure
# occlusion classes really overlap on screen.
NOMINAL_CAMERAS = (
    Camera("elevated", 0.0, (0.0, -7.5, 7.0), (0.0, 0.0, 0.3), 50.0),
    Camera("front", 90.0, (0.0, -10.0, 1.6), (0.0, 0.0, 1.5), 45.0),
)


@dataclass
class Track:
    """One object over the whole clip: arrays of length T (position (T, 3), rotation (T, 3))."""

    shape: str
    color: tuple[float, float, float]
    position: np.ndarray
    size: np.ndarray
    opacity: np.ndarray
    rotation: np.ndarray
    alive: np.ndarray  # bool: the object exists in this frame


def track(shape: str, color, position, size, *, opacity=1.0, rotation=(0.0, 0.0, 0.0), alive=None) -> Track:
    """Build a track; `position` may be (T, 2) ground positions, then the object rests on the ground
    (z = size). Scalars broadcast over the clip."""
    position = np.asarray(position, dtype=float)
    n = len(position)
    size = np.broadcast_to(np.asarray(size, dtype=float), (n,)).copy()
    if position.shape[1] == 2:
        position = np.c_[position, size]
    opacity = np.broadcast_to(np.asarray(opacity, dtype=float), (n,)).copy()
    rotation = np.broadcast_to(np.asarray(rotation, dtype=float), (n, 3)).copy()
    alive = np.ones(n, bool) if alive is None else np.asarray(alive, bool).copy()
    return Track(shape, tuple(float(c) for c in color), position, size, opacity, rotation, alive)


def to_clip(tracks: list[Track], params: dict, props: list[Prop] | None = None) -> Clip:
    """Tracks -> Clip; object ids are the track indices, absent where a track is not alive."""
    n = len(tracks[0].position)
    frames: list[dict[int, ObjectState]] = []
    for t in range(n):
        frame = {}
        for i, tr in enumerate(tracks):
            if tr.alive[t]:
                frame[i] = ObjectState(
                    shape=tr.shape,
                    position=tuple(float(v) for v in tr.position[t]),
                    size=float(tr.size[t]),
                    rotation=tuple(float(v) for v in tr.rotation[t]),
                    color=tr.color,
                    opacity=float(tr.opacity[t]),
                )
        frames.append(frame)
    return Clip(frames=frames, props=list(props or []), params=jsonable(params))


def jsonable(obj):
    """numpy scalars/arrays -> plain floats/ints/lists, so params serialise to the sidecar JSON."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return round(float(obj), 6)
    return obj


# ----- random choices -------------------------------------------------------------------------------------
def pick_shapes(rng: np.random.Generator, ctx: MotionContext, k: int, distinct: bool = False) -> list[str]:
    """k shapes from the set's pool (distinct ones when asked and the pool allows)."""
    pool = list(ctx.shapes)
    if not pool:
        raise TabenchError("empty shape pool")
    idx = rng.choice(len(pool), size=k, replace=not (distinct and k <= len(pool)))
    return [pool[int(i)] for i in idx]


def yaw(rng: np.random.Generator) -> tuple[float, float, float]:
    """A random turn about the vertical axis, so shapes show different faces."""
    return (0.0, 0.0, float(rng.uniform(0, 2 * np.pi)))


def lateral_direction(rng: np.random.Generator, max_tilt_deg: float = 25.0) -> np.ndarray:
    """A unit ground direction mostly across the screen (left or right, tilted in depth by up to
    `max_tilt_deg`): sideways motion reads clearly in both the elevated and the front view."""
    ang = np.radians(rng.uniform(-max_tilt_deg, max_tilt_deg)) + (np.pi if rng.random() < 0.5 else 0.0)
    return unit(ang)


def corner(rng: np.random.Generator, sx: float, sy: float) -> np.ndarray:
    """A ground point near a stage corner: sx -1 left / +1 right, sy -1 front / +1 back (as the viewer sees it)."""
    return np.array([sx * rng.uniform(2.4, 2.7), (-1.9 if sy < 0 else 2.4) + rng.uniform(-0.2, 0.2)])


def draw(rng: np.random.Generator, sample: Callable[[], tuple], what: str, tries: int = 500):
    """Call `sample()` until it returns a result whose last element (ok flag) is true; return the rest."""
    for _ in range(tries):
        *result, ok = sample()
        if ok:
            return result[0] if len(result) == 1 else tuple(result)
    raise RuntimeError(f"could not draw a valid layout for {what} in {tries} tries")  # a bug, not user input


# ----- time -----------------------------------------------------------------------------------------------
def times(ctx: MotionContext) -> np.ndarray:
    return timeline(ctx.num_frames)


def progress(t, t0: float, t1: float) -> np.ndarray:
    """Linear 0 -> 1 between normalised times t0 and t1 (constant speed)."""
    return np.clip((np.asarray(t, float) - t0) / max(t1 - t0, 1e-9), 0.0, 1.0)


def eased(t, t0: float, t1: float) -> np.ndarray:
    """Smooth 0 -> 1 between t0 and t1 (starts and stops gently)."""
    return smoothstep(progress(t, t0, t1))


def min_span(ctx: MotionContext, frames: int) -> float:
    """A duration in normalised time that lasts at least `frames` frames."""
    return frames / max(ctx.num_frames - 1, 1)


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


def bump(x) -> np.ndarray:
    """Smooth window: 1 at 0, falling to 0 at |x| = 1 (cos^2), 0 beyond."""
    x = np.asarray(x, float)
    return np.where(np.abs(x) < 1, np.cos(np.pi * np.clip(x, -1, 1) / 2) ** 2, 0.0)


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


# ----- checks used while drawing layouts ------------------------------------------------------------------
def clearance(tracks: list[Track], pairs=None) -> float:
    """Smallest free space between two objects over the clip (centre distance minus both reaches, see
    `reach`), counting only frames where both exist and are visible."""
    best = np.inf
    idx = range(len(tracks))
    for i, j in pairs if pairs is not None else [(i, j) for i in idx for j in idx if i < j]:
        a, b = tracks[i], tracks[j]
        both = a.alive & b.alive & (a.opacity > 0) & (b.opacity > 0)
        if both.any():
            d = (np.linalg.norm(a.position[both] - b.position[both], axis=1)
                 - reach(a.shape) * a.size[both] - reach(b.shape) * b.size[both])
            best = min(best, float(d.min()))
    return best


def on_stage(tracks: list[Track], x_lim: float = X_LIM, y_lim=Y_LIM, z_max: float = Z_MAX) -> bool:
    """Every visible object stays inside the room kept for motion (see X_LIM, Y_LIM, Z_MAX)."""
    for tr in tracks:
        vis = tr.alive & (tr.opacity > 0)
        p = tr.position[vis]
        if len(p) and (np.abs(p[:, 0]).max() > x_lim or p[:, 1].min() < y_lim[0] or p[:, 1].max() > y_lim[1]
                       or p[:, 2].max() > z_max or (p[:, 2] - tr.size[vis]).min() < -1e-9):
            return False
    return True


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
