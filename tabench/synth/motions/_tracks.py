"""Objects as tracks over a clip, and the step from tracks to the `Clip` the renderer reads.

Every motion program describes each object as a `Track`: per-frame numpy arrays computed in normalised time
(t in [0, 1]), so the named event always fits the clip whatever its length. `to_clip` turns the tracks into
per-frame `ObjectState`s. Keeping the arithmetic on arrays keeps each program a few lines of "what moves
where, when".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tabench.synth.motions import MotionContext
from tabench.synth.scene import Clip, ObjectState


@dataclass
class Track:
    """One object over the clip. `position` is (T, 3), or (T, 2) ground positions (the object then rests on
    the ground: z = size). Size, opacity, rotation (XYZ Euler, radians), scale and `alive` (the object exists
    in this frame) become per-frame arrays; scalars and single rows broadcast over the clip. `shape` is one
    name or one per frame (a shape change); `color` one RGB triple or one per frame (a colour change).
    Programs may assign new per-frame arrays (or scalars) to a field after construction."""

    shape: str | list[str]
    color: tuple | np.ndarray
    position: np.ndarray
    size: float | np.ndarray = 0.5
    opacity: float | np.ndarray = 1.0
    rotation: tuple | np.ndarray = (0.0, 0.0, 0.0)
    scale: tuple | np.ndarray = (1.0, 1.0, 1.0)
    alive: np.ndarray | None = None

    def __post_init__(self) -> None:
        pos = np.asarray(self.position, dtype=float)
        n = len(pos)
        self.size = np.broadcast_to(np.asarray(self.size, dtype=float), (n,)).copy()
        if pos.shape[1] == 2:
            pos = np.c_[pos, self.size]
        self.position = pos.copy()
        self.opacity = np.broadcast_to(np.asarray(self.opacity, dtype=float), (n,)).copy()
        self.rotation = np.broadcast_to(np.asarray(self.rotation, dtype=float), (n, 3)).copy()
        self.scale = np.broadcast_to(np.asarray(self.scale, dtype=float), (n, 3)).copy()
        self.alive = np.ones(n, bool) if self.alive is None else np.asarray(self.alive, bool).copy()
        if np.ndim(self.color) == 1 or isinstance(self.color, tuple):
            self.color = tuple(float(c) for c in self.color)

    @property
    def num_frames(self) -> int:
        return len(self.position)

    def per_frame(self, name: str) -> np.ndarray:
        """A field as a per-frame array, whatever was assigned to it since construction."""
        width = {"position": 3, "rotation": 3, "scale": 3, "color": 3}.get(name, 1)
        shape = (self.num_frames,) if width == 1 else (self.num_frames, width)
        return np.broadcast_to(np.asarray(getattr(self, name), dtype=float), shape)

    def visible(self) -> np.ndarray:
        """Frames in which the object exists and is not fully transparent."""
        return np.asarray(self.alive, bool) & (self.per_frame("opacity") > 0)


def _at(value, i: int, width: int):
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        return float(a) if width == 1 else tuple([float(a)] * width)
    if width == 1:
        return float(a[i])
    row = a if a.ndim == 1 else a[i]
    return tuple(float(v) for v in row)


def to_clip(tracks: list[Track], params: dict, n: int | None = None) -> Clip:
    """Per-frame ObjectStates from tracks; object ids are the track indices, absent where not alive."""
    n = tracks[0].num_frames if n is None else n
    frames: list[dict[int, ObjectState]] = [{} for _ in range(n)]
    for oid, tr in enumerate(tracks):
        assert tr.num_frames == n and np.shape(tr.position) == (n, 3), "a track needs one position row per frame"
        alive = np.asarray(tr.alive, bool)
        for i in range(n):
            if not alive[i]:
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
    return Clip(frames=frames, params=jsonable(params))


def jsonable(obj):
    """JSON-ready copy: numpy scalars/arrays become floats, ints and lists (params go to the sidecar)."""
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


def const(n: int, value) -> np.ndarray:
    """A value repeated for every frame, (n, len(value))."""
    return np.tile(np.asarray(value, float), (n, 1))


def standing_objects(rng: np.random.Generator, ctx: MotionContext, k: int, sizes=None, xy=None, colors=None,
                     **scatter_kw) -> list[Track]:
    """k still objects resting on the ground (random shape, size, colour, yaw), at `xy` or scattered apart."""
    from tabench.synth.motions._layout import pick_shapes, rand_size, rand_yaw, scatter
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
