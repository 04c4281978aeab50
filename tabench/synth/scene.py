"""Scene description for Syn-TA clips, independent of any renderer (as in Kubric).

A motion program (see `tabench.synth.motions`) turns random parameters into a `Clip`: per-frame states of
every object (nothing else: no class has props, so no single frame names a class by a static object). The generator adds a `Camera` and a `Background` to make a `Scene`, which a
renderer backend (moderngl today, Blender's bpy possible) turns into pixels. Nothing here imports a renderer.

Coordinates ("stage" frame), shared by every motion program and renderer:
  +x is the viewer's right, +y points away from the viewer (depth), +z is up; the ground is z = 0.
  The stage spans roughly x, y in [-4, 4]; objects are about 0.3-1.2 units in size.
The camera always looks along +y (from negative y), so "left to right" in a motion program means
increasing image x in every rendered frame, whatever the view. A view's azimuth is realised by rotating the
background (ground photo) around z, not the motion, so directions named in a class hold on screen.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SET_SHAPES = {
    1: ("cube", "cone", "pyramid", "prism"),  # prism: triangular prism; pyramid: 4-sided
    2: ("sphere", "cylinder", "torus", "capsule"),
}
ALL_SHAPES = SET_SHAPES[1] + SET_SHAPES[2]
VIEWS = ("elevated", "front")


@dataclass
class ObjectState:
    """One object in one frame. `size` is the half-extent (radius-like) in stage units; `scale` multiplies
    it per axis (for squash and stretch). Rotation is XYZ Euler angles in radians."""

    shape: str
    position: tuple[float, float, float]
    size: float = 0.5
    rotation: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    color: tuple[float, float, float] = (0.8, 0.2, 0.2)
    opacity: float = 1.0

    def radius(self) -> float:
        """Bounding-sphere radius, used for collision and occlusion reasoning."""
        return float(self.size * max(self.scale))


@dataclass
class Clip:
    """Output of a motion program: frames[t] maps a persistent object id to its state at frame t.
    An id absent from a frame is not in the scene at that time (created later or removed)."""

    frames: list[dict[int, ObjectState]]
    params: dict = field(default_factory=dict)  # the random parameters the program drew (for the sidecar)

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    def object_ids(self) -> list[int]:
        ids: set[int] = set()
        for f in self.frames:
            ids.update(f)
        return sorted(ids)

    def track(self, obj_id: int, attr: str = "position") -> np.ndarray:
        """Per-frame values of one attribute of one object; NaN where the object is absent."""
        rows = []
        width = None
        for f in self.frames:
            if obj_id in f:
                v = np.atleast_1d(np.asarray(getattr(f[obj_id], attr), dtype=float))
                width = v.size
                rows.append(v)
            else:
                rows.append(None)
        width = width or 1
        return np.array([r if r is not None else np.full(width, np.nan) for r in rows]).squeeze()


@dataclass
class Camera:
    """Perspective pinhole camera looking along +y, raised by `height` and pitched down to `target`."""

    view: str  # "elevated" or "front"
    azimuth_deg: float  # realised by rotating the background; kept for the sidecar
    eye: tuple[float, float, float]
    target: tuple[float, float, float] = (0.0, 0.0, 0.5)
    fov_y_deg: float = 45.0

    def view_matrix(self) -> np.ndarray:
        eye, target = np.asarray(self.eye, float), np.asarray(self.target, float)
        fwd = target - eye
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        up = np.cross(right, fwd)
        m = np.eye(4)
        m[0, :3], m[1, :3], m[2, :3] = right, up, -fwd
        m[:3, 3] = -m[:3, :3] @ eye
        return m

    def projection_matrix(self, aspect: float, near: float = 0.1, far: float = 100.0) -> np.ndarray:
        f = 1.0 / np.tan(np.radians(self.fov_y_deg) / 2)
        m = np.zeros((4, 4))
        m[0, 0], m[1, 1] = f / aspect, f
        m[2, 2], m[2, 3] = (far + near) / (near - far), 2 * far * near / (near - far)
        m[3, 2] = -1.0
        return m

    def project(self, points: np.ndarray, width: int, height: int) -> np.ndarray:
        """Stage points (N, 3) -> pixel coordinates (N, 2) with x to the right and y downwards, plus the
        camera-space depth as a third column (distance along the viewing direction)."""
        p = np.atleast_2d(np.asarray(points, float))
        hom = np.c_[p, np.ones(len(p))]
        cam = hom @ self.view_matrix().T
        clip = cam @ self.projection_matrix(width / height).T
        ndc = clip[:, :3] / clip[:, 3:4]
        px = (ndc[:, 0] + 1) * 0.5 * width
        py = (1 - ndc[:, 1]) * 0.5 * height
        return np.c_[px, py, -cam[:, 2]]


def make_camera(view: str, rng: np.random.Generator) -> Camera:
    """The paper's two camera families: elevated (azimuth a multiple of 60 degrees, high, looking down)
    and front (azimuth 75-105 degrees, low)."""
    if view == "elevated":
        azimuth = 60.0 * int(rng.integers(0, 6))
        eye = (0.0, -7.5 + rng.uniform(-0.3, 0.3), 7.0 + rng.uniform(-0.3, 0.3))
        return Camera("elevated", azimuth, eye, (0.0, 0.0, 0.3), 50.0)
    if view == "front":
        azimuth = float(rng.uniform(75.0, 105.0))
        eye = (rng.uniform(-0.2, 0.2), -10.0 + rng.uniform(-0.3, 0.3), 1.6 + rng.uniform(-0.2, 0.2))
        return Camera("front", azimuth, eye, (0.0, 0.0, 1.5), 45.0)
    raise ValueError(f"unknown view {view!r}; choose one of {VIEWS}")


@dataclass
class Background:
    """A photo (ground plane for the elevated view, vertical backdrop for the front view) or a plain colour."""

    kind: str  # "photo" or "plain"
    placement: str  # "ground" or "backdrop"
    image_path: str | None = None
    color: tuple[float, float, float] = (0.5, 0.5, 0.5)
    rotation_deg: float = 0.0  # the camera azimuth, applied to the ground photo


@dataclass
class Scene:
    clip: Clip
    camera: Camera
    background: Background
    width: int
    height: int
    fps: int = 24
