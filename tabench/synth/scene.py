"""Scene description for Syn-TA clips, independent of any renderer (as in Kubric).

A motion program (see `tabench.synth.motions`) turns random parameters into a `Clip`: per-frame states of
every object (nothing else: no class has props, so no single frame names a class by a static object). The generator adds a `Camera` and a `Background` to make a `Scene`, which a
renderer backend (moderngl today, Blender's bpy possible) turns into pixels. Nothing here imports a renderer.

Coordinates ("stage" frame), shared by every motion program and renderer:
  +x is the front viewer's right, +y points away from the front viewer (depth), +z is up; the ground is
  z = 0. The stage spans roughly x, y in [-4, 4]; objects are about 0.3-1.2 units in size.
Cameras orbit the stage as in the paper's Blender scripts (`make_camera`): the elevated camera looks down
from one of six azimuths, the front camera from 75-105 degrees (around +y). A class named by a direction
("left to right", "clockwise on a vertical plane") or by a relation to the viewer ("in front of") is only
seen from azimuths where that holds on screen (its camera family, `camera_family`); every other class is
seen from all around, so its on-screen direction varies between videos.
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
    """Perspective pinhole camera at `eye` looking at `target` (no roll). `azimuth_deg` is the horizontal
    direction it looks in, counter-clockwise from +x seen from above (90: along +y, the front view's)."""

    view: str  # "elevated" or "front"
    azimuth_deg: float
    eye: tuple[float, float, float]
    target: tuple[float, float, float] = (0.0, 0.0, 0.5)
    fov_y_deg: float = 45.0

    @property
    def distance(self) -> float:
        """Eye to target, in stage units."""
        return float(np.linalg.norm(np.subtract(self.eye, self.target)))

    @property
    def elevation_deg(self) -> float:
        """Pitch: how far the camera looks down, in degrees."""
        return float(np.degrees(np.arcsin((self.eye[2] - self.target[2]) / self.distance)))

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

    def _projection(self, aspect: float) -> tuple[np.ndarray, np.ndarray]:
        """The transposed view and projection matrices, kept while the camera's fields stay as they are:
        idle-object placement projects thousands of small boxes per scene, and rebuilding both matrices
        was two thirds of each call."""
        key = (self.eye, self.target, self.fov_y_deg, aspect)
        cached = self.__dict__.get("_projection_cache")
        if cached is None or cached[0] != key:
            cached = (key, self.view_matrix().T, self.projection_matrix(aspect).T)
            self.__dict__["_projection_cache"] = cached
        return cached[1], cached[2]

    def project(self, points: np.ndarray, width: int, height: int) -> np.ndarray:
        """Stage points (N, 3) -> pixel coordinates (N, 2) with x to the right and y downwards, plus the
        camera-space depth as a third column (distance along the viewing direction)."""
        p = np.atleast_2d(np.asarray(points, float))
        hom = np.c_[p, np.ones(len(p))]
        view_t, proj_t = self._projection(width / height)
        cam = hom @ view_t
        clip = cam @ proj_t
        ndc = clip[:, :3] / clip[:, 3:4]
        px = (ndc[:, 0] + 1) * 0.5 * width
        py = (1 - ndc[:, 1]) * 0.5 * height
        return np.c_[px, py, -cam[:, 2]]


# Paper cameras (the released Blender scripts), in the paper's scene units; this stage is smaller, so lengths
# are scaled by STAGE_PER_PAPER_UNIT (angles are kept as they are).
STAGE_PER_PAPER_UNIT = 0.25
FOV_Y_DEG = 45.0
TARGET = (0.0, 0.3, 0.3)  # the centre of the stage's motion room (see motions._layout)
ELEVATED_RADIUS, ELEVATED_HEIGHT = (25.0, 40.0), (15.0, 35.0)  # horizontal distance and height, paper units
FRONT_RADIUS, FRONT_HEIGHT = (30.0, 40.0), (5.0, 10.0)
MIN_ELEVATED_PITCH_DEG = 27.0  # the ground fills the frame (no horizon) with the 45-degree field of view
ORBIT_AZIMUTHS = tuple(float(a) for a in range(0, 360, 60))  # elevated view, classes without a direction
FRONT_AZIMUTHS = tuple(float(a) for a in range(75, 106, 5))
# Camera families: the azimuths a class may be seen from, so that what its name says holds on screen.
#   orbit:       anywhere around the stage (the paper's 0, 60, ..., 300)
#   directional: the named direction (left/right, clockwise on a vertical plane) holds on screen: 45-135
#   lateral:     objects enter/leave the view sideways along x: the orbit azimuths with x across the screen
#   viewer:      relations to the viewer ("in front of", "behind"): the front azimuths, 75-105
FAMILIES = ("orbit", "directional", "lateral", "viewer")
AZIMUTHS = {
    ("elevated", "orbit"): ORBIT_AZIMUTHS,
    ("elevated", "directional"): tuple(float(a) for a in range(45, 136, 15)),
    ("elevated", "lateral"): (60.0, 120.0, 240.0, 300.0),
    ("elevated", "viewer"): FRONT_AZIMUTHS,
}


DIRECTIONAL_CLASSES = (
    "single_object_moving_from_left_to_right",
    "single_object_moving_from_right_to_left",
    "shooting_projectile_from_right_corner_to_left_corner",
    "shooting_projectile_from_left_corner_to_right_corner",
    "single_object_orbiting_another_object_in_the_center_in_clockwise_direction_on_vertical_plane",
    "single_object_orbiting_another_object_in_the_center_in_counter_clockwise_direction_on_vertical_plane",
)
VIEWER_CLASSES = (
    "object_which_is_occluding_another_object_switches_places_and_goes_behind_it",
    "small_object_coming_in_front_of_big_object_barely_occluding_it",
    "big_object_coming_in_front_of_small_object_mostly_or_fully_occluding_it",
    "two_objects_partially_occluding_two_other_objects_switch_positions_with_the_latter_two_and_go_behind_them",
)

# Near misses must show their gap on screen: seen, like the occlusion classes, from around the front.
NEAR_MISS_CLASSES = (
    "two_objects_moving_towards_each_other_but_not_colliding",
    "single_object_moving_towards_single_stationary_object_but_not_colliding_with_it",
    "multiple_objects_moving_towards_each_other_but_not_colliding_among_themselves",
    "two_objects_moving_in_opposite_directions_in_circular_path_but_not_colliding_later",
    "one_object_moving_towards_multiple_stationary_objects_but_not_colliding",
)


def camera_family(slug: str) -> str:
    """The camera family of a fine class (see AZIMUTHS)."""
    if slug in NEAR_MISS_CLASSES:
        return "viewer"
    if slug in DIRECTIONAL_CLASSES:
        return "directional"
    if slug.startswith(("single_object_arriving", "multiple_objects_arriving", "single_object_departing",
                        "multiple_objects_departing")):
        return "lateral"
    if slug in VIEWER_CLASSES:
        return "viewer"
    return "orbit"


def orbit_camera(view: str, azimuth_deg: float, radius: float, height: float) -> Camera:
    """A camera `radius` stage units from the target horizontally and `height` above it, looking at
    the target along the horizontal direction `azimuth_deg` (counter-clockwise from +x seen from above; 90
    looks along +y, the front)."""
    a = np.radians(azimuth_deg)
    eye = (TARGET[0] - radius * np.cos(a), TARGET[1] - radius * np.sin(a), TARGET[2] + height)
    return Camera(view, float(azimuth_deg), tuple(float(v) for v in eye), TARGET, FOV_Y_DEG)


def make_camera(view: str, rng: np.random.Generator, family: str = "orbit") -> Camera:
    """The paper's two camera families with its ranges: elevated (azimuth from the class's set, distance
    25-40 and height 15-35 paper units, looking down) and front (azimuth 75-105 in 5-degree steps, distance
    30-40, height 5-10: pitch about 7-18 degrees)."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; choose one of {VIEWS}")
    if family not in FAMILIES:
        raise ValueError(f"unknown camera family {family!r}; choose one of {FAMILIES}")
    s = STAGE_PER_PAPER_UNIT
    if view == "elevated":
        azimuths = AZIMUTHS[view, family]
        radius = rng.uniform(*ELEVATED_RADIUS)
        lo = max(ELEVATED_HEIGHT[0], radius * np.tan(np.radians(MIN_ELEVATED_PITCH_DEG)))
        height = rng.uniform(lo, ELEVATED_HEIGHT[1])
    else:
        azimuths = FRONT_AZIMUTHS
        radius, height = rng.uniform(*FRONT_RADIUS), rng.uniform(*FRONT_HEIGHT)
    azimuth = azimuths[int(rng.integers(len(azimuths)))]
    return orbit_camera(view, azimuth, radius * s, height * s)


@dataclass
class Background:
    """A photo (ground plane for the elevated view, vertical backdrop for the front view) or a plain colour."""

    kind: str  # "photo" or "plain"
    placement: str  # "ground" or "backdrop"
    image_path: str | None = None
    color: tuple[float, float, float] = (0.5, 0.5, 0.5)


@dataclass
class Scene:
    clip: Clip
    camera: Camera
    background: Background
    width: int
    height: int
    fps: int = 24
