"""Random choices and layouts of the motion programs: shapes, sizes, turns, ground positions, and the checks
a drawn layout must pass (on stage, no touching).

Programs draw their layout with `draw`, which re-draws until the layout passes the program's own checks:
rejection sampling keeps each program a plain description of the motion instead of a pile of special cases.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from tabench import TabenchError
from tabench.synth.motions import MotionContext
from tabench.synth.motions._geometry import rot2, unit
from tabench.synth.motions._tracks import Track
from tabench.synth.scene import STAGE_PER_PAPER_UNIT, orbit_camera

SIZE_RANGE = (0.45, 0.7)  # half-extent of an ordinary object: clearly visible at 112 px
# A shape turned about z reaches further than its half-extent (a cube's corner: size * sqrt(2)); layouts
# keep this much room so that no corner pokes into a neighbour whatever the yaw.
FOOTPRINT = np.sqrt(2.0)
REACH = 1.42
GAP = 0.3  # free space kept between neighbouring objects
ROUND_SHAPES = ("sphere", "cylinder", "torus", "capsule", "cone")  # reach = size in the ground plane
# Where visible objects may go: inside the stage bounds of the contract ([-3.5, 3.5] x [-3.5, 3.5] x [0, 4])
# with a margin, so objects stay in frame for both camera families.
X_LIM = 3.0
Y_LIM = (-2.6, 3.0)
Z_MAX = 3.6


def reach(shape: str) -> float:
    """How far (in units of `size`) a shape reaches from its centre in the ground plane, for any yaw."""
    return 1.0 if shape in ROUND_SHAPES else REACH


# ----- random choices -------------------------------------------------------------------------------------
def rand_size(rng: np.random.Generator, lo: float = SIZE_RANGE[0], hi: float = SIZE_RANGE[1]) -> float:
    return float(rng.uniform(lo, hi))


def rand_yaw(rng: np.random.Generator) -> tuple[float, float, float]:
    """A random turn about the vertical axis, so shapes show different faces."""
    return (0.0, 0.0, float(rng.uniform(0, 2 * np.pi)))


def pick_shapes(rng: np.random.Generator, ctx: MotionContext, k: int, distinct: bool = False,
                exclude: tuple[str, ...] = ()) -> list[str]:
    """k shapes from the set's pool (never from outside it); `distinct`: no shape twice."""
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


def lateral_direction(rng: np.random.Generator, max_tilt_deg: float = 25.0) -> np.ndarray:
    """A unit ground direction mostly along x (+ or -, tilted in y by up to `max_tilt_deg`)."""
    ang = np.radians(rng.uniform(-max_tilt_deg, max_tilt_deg)) + (np.pi if rng.random() < 0.5 else 0.0)
    return unit(ang)


def corner(rng: np.random.Generator, sx: float, sy: float) -> np.ndarray:
    """A ground point near a stage corner: sx -1 left / +1 right (x), sy -1 front / +1 back (y)."""
    return np.array([sx * rng.uniform(2.4, 2.7), (-1.9 if sy < 0 else 2.4) + rng.uniform(-0.2, 0.2)])


# ----- placement ------------------------------------------------------------------------------------------
def scatter(rng: np.random.Generator, sizes, x=(-2.8, 2.8), y=(-2.3, 2.8), gap: float = GAP,
            avoid=(), tries: int = 2000) -> np.ndarray:
    """Random ground positions (k, 2) for objects of the given sizes that keep `gap` between footprints,
    and from each (x, y, reach) in `avoid`."""
    placed: list[tuple[float, float, float]] = [tuple(a) for a in avoid]
    out = []
    for s in sizes:
        r = s * FOOTPRINT
        for _ in range(tries):
            p = (float(rng.uniform(*x)), float(rng.uniform(*y)))
            if all(np.hypot(p[0] - q0, p[1] - q1) >= r + rq + gap for q0, q1, rq in placed):
                placed.append((p[0], p[1], r))
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


def offstage_x(y: float, side: int, camera=None, z: float = 0.6, reach_: float = 1.1) -> float:
    """An x on side -1 (-x) / +1 (+x) of the lane at depth y from which an object (centre height z, reaching
    `reach_` from it) is out of `camera`'s 16:9 view, plus a margin. Along a straight lane the object is in
    view on one stretch only (the view is a convex cone), so beyond this x it stays out of view. Without a
    camera: outside the front view (the programs' default context)."""
    if camera is None:
        return float(side * (10.0 + 0.5 * max(y, -2.0)))
    f = 0.5 / np.tan(np.radians(camera.fov_y_deg) / 2)
    for k in range(600):
        x = side * (3.0 + 0.1 * k)
        px, py, depth = camera.project(np.array([[x, y, z]]), 16.0 / 9.0, 1.0)[0]
        r = reach_ * f / depth if depth > 0 else 0.0
        if depth <= 0.1 or px + r < 0 or px - r > 16.0 / 9.0 or py + r < 0 or py - r > 1.0:
            return float(x + side * 0.3)
    raise LayoutError(f"no x on side {side} of lane y={y} is out of view of {camera}")


class LayoutError(RuntimeError):
    """No valid layout was found: a bug in a program, or a clip too short for the class's motion."""


def draw(rng: np.random.Generator, sample: Callable[[], tuple], what: str, tries: int = 500):
    """Call `sample()` until it returns a result whose last element (ok flag) is true; return the rest."""
    for _ in range(tries):
        *result, ok = sample()
        if ok:
            return result[0] if len(result) == 1 else tuple(result)
    raise LayoutError(f"could not draw a valid layout for {what} in {tries} tries")


# ----- checks used while drawing layouts ------------------------------------------------------------------
# The camera programs check on-screen layouts against when their context has none: the front view from the
# middle of the paper's ranges (azimuth 90, distance 35, height 7.5 paper units).
DEFAULT_CAMERA = orbit_camera("front", 90.0, 35.0 * STAGE_PER_PAPER_UNIT, 7.5 * STAGE_PER_PAPER_UNIT)


def view_camera(ctx: MotionContext):
    """The video's camera, or DEFAULT_CAMERA for a program called without one."""
    return ctx.camera if ctx.camera is not None else DEFAULT_CAMERA


def _picture(ctx: MotionContext, points) -> np.ndarray:
    """Picture positions (N, 2) of 3D points seen by the video's camera, in frame widths (x right, y down)."""
    return view_camera(ctx).project(np.asarray(points, float), 16, 9)[:, :2] / 16.0


def view_axes(ctx: MotionContext) -> tuple[np.ndarray, np.ndarray]:
    """The video camera's horizontal right and forward axes on the ground (unit 2-vectors); the front view's
    (right +x, forward +y) without a camera."""
    a = np.radians(view_camera(ctx).azimuth_deg)
    return np.array([np.sin(a), -np.cos(a)]), np.array([np.cos(a), np.sin(a)])


def across_screen(ctx: MotionContext, offsets, depth: float = 0.0) -> np.ndarray:
    """Ground points (k, 2) in a row across the picture: `offsets` along the camera's right axis, all at one
    distance from the camera (`depth` along its forward axis from the stage centre). Objects whose sizes or
    heights the class compares stand so, or perspective would make the nearer one look bigger."""
    right, fwd = view_axes(ctx)
    centre = np.asarray(DEFAULT_CAMERA.target[:2], float)
    return centre + depth * fwd + np.outer(np.asarray(offsets, float), right)


def as_seen(ctx: MotionContext, xy) -> np.ndarray:
    """Ground points (..., 2) laid out in the front view's frame (right +x, forward +y) turned about the stage
    centre into the video camera's, so that a path drawn "sideways" (a zigzag, a curve) is sideways on screen
    from every azimuth (from azimuth 0 the stage's x runs along the line of sight, and a sideways zigzag of a
    fall showed as a straight vertical line)."""
    a = np.radians(view_camera(ctx).azimuth_deg - 90.0)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    centre = np.asarray(DEFAULT_CAMERA.target[:2], float)
    return centre + (np.asarray(xy, float) - centre) @ rot.T


def front_camera(ctx: MotionContext) -> bool:
    """The video is seen from the front view (pitch 7-18 degrees), where a move in depth hardly moves on
    screen; programs called without a camera count as front (DEFAULT_CAMERA)."""
    return view_camera(ctx).view == "front"


def across_picture(rng: np.random.Generator, ctx: MotionContext, max_tilt_deg: float) -> np.ndarray:
    """A unit ground direction for a straight move whose direction the class leaves free: in the front view
    within `max_tilt_deg` of the camera's right axis (either way), so the move runs across the picture (in
    the stage frame, `lateral_direction`, the camera's own azimuth of 75-105 added up to 15 degrees of depth,
    and a queue or an approach running in depth stood one behind the other); from an elevated camera, which
    sees depth, in the stage frame, so the on-screen direction varies with the orbiting camera."""
    u = lateral_direction(rng, max_tilt_deg)
    return rot2(u, np.radians(view_camera(ctx).azimuth_deg - 90.0)) if front_camera(ctx) else u


def screen_bend(ctx: MotionContext, points) -> float:
    """How far a path (T, 3) bends on screen: the largest distance of its projected points from the straight
    line between its projected ends, in frame widths (0 for a path that looks straight)."""
    c = _picture(ctx, points)
    chord = c[-1] - c[0]
    length = np.linalg.norm(chord)
    if length < 1e-9:
        return float(np.linalg.norm(c - c[0], axis=1).max())
    normal = np.array([-chord[1], chord[0]]) / length
    return float(np.abs((c - c[0]) @ normal).max())


def screen_xy(ctx: MotionContext, ground_points, z: float = 0.5) -> np.ndarray:
    """Picture positions (N, 2) of ground points (at height z) seen by the video's camera, in units of the
    frame width (x right, y down). Programs whose named motion must show on screen from every view (a
    teleport, clones parting, a slow approach) check their layout with it: from the nearly level front
    view a move in depth hardly moves on screen."""
    p = np.atleast_2d(np.asarray(ground_points, float))
    return _picture(ctx, np.c_[p[:, :2], np.full(len(p), z)])


def top_in_view(ctx: MotionContext, ground_point, margin: float = 0.04, z_max: float = 6.0) -> float:
    """The highest point above `ground_point` that the video's camera still sees below the picture's top edge
    (with `margin` of the picture height to spare): from the nearly level front view that is about 3.5-4
    units, so a ball dropped from higher starts out of the picture."""
    zs = np.arange(0.0, z_max + 1e-9, 0.05)
    p = np.c_[np.tile(np.asarray(ground_point, float)[:2], (len(zs), 1)), zs]
    y = view_camera(ctx).project(p, 16, 9)[:, 1] / 9.0  # 0 at the top edge, 1 at the bottom
    inside = np.flatnonzero(y >= margin)
    return float(zs[inside.max()]) if len(inside) else 0.0


def screen_shift(ctx: MotionContext, a, b, z: float = 0.5) -> float:
    """How far apart two ground points are on screen, in frame widths (see `screen_xy`)."""
    pa, pb = screen_xy(ctx, np.stack([np.asarray(a, float)[:2], np.asarray(b, float)[:2]]), z)
    return float(np.linalg.norm(pb - pa))


def clearance(tracks: list[Track], pairs=None) -> float:
    """Smallest free space between two objects over the clip (centre distance minus both reaches, see
    `reach`), counting only frames where both exist and are visible."""
    best = np.inf
    idx = range(len(tracks))
    for i, j in pairs if pairs is not None else [(i, j) for i in idx for j in idx if i < j]:
        a, b = tracks[i], tracks[j]
        both = a.visible() & b.visible()
        if both.any():
            d = (np.linalg.norm(a.position[both] - b.position[both], axis=1)
                 - reach(a.shape) * a.per_frame("size")[both] - reach(b.shape) * b.per_frame("size")[both])
            best = min(best, float(d.min()))
    return best


def on_stage(tracks: list[Track], x_lim: float = X_LIM, y_lim=Y_LIM, z_max: float = Z_MAX) -> bool:
    """Every visible object stays inside the room kept for motion (see X_LIM, Y_LIM, Z_MAX)."""
    for tr in tracks:
        vis = tr.visible()
        p = tr.position[vis]
        if len(p) and (np.abs(p[:, 0]).max() > x_lim or p[:, 1].min() < y_lim[0] or p[:, 1].max() > y_lim[1]
                       or p[:, 2].max() > z_max or (p[:, 2] - tr.per_frame("size")[vis]).min() < -1e-9):
            return False
    return True
