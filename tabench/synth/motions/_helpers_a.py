"""Helpers for the motion programs of coarse classes 0-9 (appearing ... falling).

The programs describe each object as a `Track` of per-frame arrays in normalised time, then `build_clip`
turns the tracks into the `Clip` frames the renderer reads. Keeping the arithmetic on arrays keeps each
program a few lines of "what moves where, when".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tabench import TabenchError
from tabench.synth.motions import MotionContext
from tabench.synth.motions._util import smoothstep
from tabench.synth.scene import Clip, ObjectState, Prop

SIZE_RANGE = (0.45, 0.7)  # half-extent of an ordinary object: clearly visible at 112 px
FOOTPRINT = np.sqrt(2.0)  # a cube turned about z reaches size * sqrt(2) from its centre
GAP = 0.3  # free space kept between neighbouring objects


# ----- random choices -------------------------------------------------------------------------------------
def rand_size(rng: np.random.Generator, lo: float = SIZE_RANGE[0], hi: float = SIZE_RANGE[1]) -> float:
    return float(rng.uniform(lo, hi))


def rand_yaw(rng: np.random.Generator) -> tuple[float, float, float]:
    """A random turn about the vertical axis, so shapes show different faces."""
    return (0.0, 0.0, float(rng.uniform(0, np.pi / 2)))


def pick_shapes(rng: np.random.Generator, ctx: MotionContext, k: int, distinct: bool = False,
                exclude: tuple[str, ...] = ()) -> list[str]:
    """k shapes from the set's pool (never from outside it)."""
    pool = [s for s in ctx.shapes if s not in exclude]
    if not pool or (distinct and len(pool) < k):
        raise TabenchError(f"shape pool {ctx.shapes} has too few shapes for this motion")
    idx = rng.choice(len(pool), size=k, replace=not distinct)
    return [pool[int(i)] for i in idx]


def pick_shape(rng: np.random.Generator, ctx: MotionContext, exclude: tuple[str, ...] = ()) -> str:
    return pick_shapes(rng, ctx, 1, exclude=exclude)[0]


def require_shape(ctx: MotionContext, shape: str) -> None:
    """Classes that name a shape ("changes into cube") only exist in the set whose pool holds it."""
    if shape not in ctx.shapes:
        raise TabenchError(f"this motion turns objects into a {shape}, which is not in the shape pool {ctx.shapes}")


def scatter(rng: np.random.Generator, sizes, x=(-2.8, 2.8), y=(-2.3, 2.8), gap: float = GAP,
            avoid=(), tries: int = 2000) -> np.ndarray:
    """Random ground positions (k, 2) for objects of the given sizes that keep `gap` between footprints,
    and from each (x, y, reach) in `avoid`."""
    placed: list[tuple[float, float, float]] = [tuple(a) for a in avoid]
    out = []
    for s in sizes:
        reach = s * FOOTPRINT
        for _ in range(tries):
            p = (float(rng.uniform(*x)), float(rng.uniform(*y)))
            if all(np.hypot(p[0] - q0, p[1] - q1) >= reach + r + gap for q0, q1, r in placed):
                placed.append((p[0], p[1], reach))
                out.append(p)
                break
        else:
            raise RuntimeError("could not place objects without overlap")  # a bug in the caller's ranges
    return np.array(out, dtype=float)


def lanes(rng: np.random.Generator, k: int, spacing: float, lo: float = -2.4, hi: float = 2.8) -> np.ndarray:
    """k depth values (y) at least `spacing` apart, in random order: parallel paths that never cross."""
    slack = (hi - lo) - spacing * (k - 1)
    if slack < 0:
        raise RuntimeError("lanes do not fit on the stage")
    cuts = np.sort(rng.uniform(0, slack, size=k))  # spread the slack randomly between the lanes
    ys = lo + cuts + spacing * np.arange(k)
    return ys[rng.permutation(k)]


# ----- time profiles (all on normalised time t in [0, 1]) -----------------------------------------------------
def ramp(t: np.ndarray, t0: float, t1: float, ease=smoothstep) -> np.ndarray:
    """0 before t0, 1 after t1, eased in between."""
    return ease(np.clip((np.asarray(t, float) - t0) / max(t1 - t0, 1e-9), 0.0, 1.0))


def ease_in(u):
    """Starts at rest and speeds up (departing, falling)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u


def ease_out(u):
    """Arrives fast and slows to rest (arriving)."""
    u = np.clip(u, 0.0, 1.0)
    return 1 - (1 - u) ** 2


def bump(t: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """0 outside [t0, t1], a smooth single hump peaking at 1 in the middle."""
    u = np.clip((np.asarray(t, float) - t0) / (t1 - t0), 0.0, 1.0)
    return np.sin(np.pi * u) ** 2


def const(n: int, value) -> np.ndarray:
    return np.tile(np.asarray(value, float), (n, 1))


def offstage_x(y: float, side: int) -> float:
    """An x outside every camera's view (16:9 included) for an object at depth y on side -1 (left) / +1."""
    return float(side * (10.0 + 0.5 * max(y, -2.0)))


def bounce_heights(t: np.ndarray, h0: float, e: float, t0: float, time_scale: float, min_h: float = 0.04):
    """Height above rest of an object dropped from rest at height h0 at time t0 that bounces with
    restitution e until the bounces are smaller than min_h. `time_scale` is the normalised duration of the
    first fall (sqrt(2 h0 / g)); the bounce durations follow from physics (each arc is e times the last).
    Returns (heights, stop_time)."""
    t = np.asarray(t, float)
    h = np.zeros_like(t)
    h[t < t0] = h0
    # first fall: h = h0 (1 - (tau / T0)^2)
    tau = t - t0
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


# ----- building the clip ----------------------------------------------------------------------------------
@dataclass
class Track:
    """One object over the clip. Scalars/tuples are constant; arrays have one row per frame. `alive` masks
    the frames in which the object exists (None: all)."""

    shape: str | list[str]
    size: float | np.ndarray
    position: np.ndarray  # (n, 3)
    color: tuple | np.ndarray
    opacity: float | np.ndarray = 1.0
    rotation: tuple | np.ndarray = (0.0, 0.0, 0.0)
    scale: tuple | np.ndarray = (1.0, 1.0, 1.0)
    alive: np.ndarray | None = None


def _at(value, i: int, width: int):
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        return float(a) if width == 1 else tuple([float(a)] * width)
    if width == 1:
        return float(a[i])
    row = a if a.ndim == 1 else a[i]
    return tuple(float(v) for v in row)


def build_clip(n: int, tracks: list[Track], params: dict, props: list[Prop] | None = None) -> Clip:
    """Per-frame ObjectStates from tracks; object ids are the track indices."""
    frames: list[dict[int, ObjectState]] = [{} for _ in range(n)]
    for oid, tr in enumerate(tracks):
        assert np.shape(tr.position) == (n, 3), "a track's position needs one row per frame"
        for i in range(n):
            if tr.alive is not None and not tr.alive[i]:
                continue
            shape = tr.shape if isinstance(tr.shape, str) else tr.shape[i]
            frames[i][oid] = ObjectState(
                shape=shape,
                position=_at(tr.position, i, 3),
                size=_at(tr.size, i, 1),
                rotation=_at(tr.rotation, i, 3),
                scale=_at(tr.scale, i, 3),
                color=_at(tr.color, i, 3),
                opacity=min(1.0, max(0.0, _at(tr.opacity, i, 1))),
            )
    return Clip(frames=frames, props=list(props or []), params=plain(params))


def plain(obj):
    """JSON-ready copy: numpy scalars/arrays become floats, ints and lists (the sidecar is JSON)."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [plain(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return round(float(obj), 6)
    return obj


def standing_objects(rng: np.random.Generator, ctx: MotionContext, k: int, sizes=None, xy=None, colors=None,
                     **scatter_kw) -> list[Track]:
    """k still objects resting on the ground (random shape, size, colour, yaw), at `xy` or scattered apart."""
    from tabench.synth.motions._util import distinct_colors

    sizes = list(sizes) if sizes is not None else [rand_size(rng) for _ in range(k)]
    xy = np.asarray(xy, float) if xy is not None else scatter(rng, sizes, **scatter_kw)
    shapes = pick_shapes(rng, ctx, k)
    colors = colors or distinct_colors(rng, k)
    return [Track(shape=shapes[i], size=sizes[i], position=const(ctx.num_frames, (xy[i, 0], xy[i, 1], sizes[i])),
                  color=colors[i], rotation=rand_yaw(rng)) for i in range(k)]


def describe(tracks: list[Track]) -> list[dict]:
    """The per-object random draws, for Clip.params."""
    return [{"shape": tr.shape if isinstance(tr.shape, str) else tr.shape[0],
             "size": np.asarray(tr.size, float).ravel()[0],
             "start": np.asarray(tr.position, float)[0], "color": np.asarray(tr.color, float).reshape(-1, 3)[0]}
            for tr in tracks]
