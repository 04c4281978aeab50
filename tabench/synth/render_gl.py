"""Headless OpenGL renderer for Syn-TA scenes: moderngl on a standalone EGL context (Mesa llvmpipe on a CPU).

Why OpenGL rather than Blender: a small Syn-TA frame rasterises in about a millisecond on llvmpipe, against
100-300 ms per frame for Cycles, so the whole dataset regenerates in minutes on a laptop. The look follows
the paper's: glossy Blinn-Phong objects (random colour, white specular highlight) lit by one directional
light, a soft blob shadow on the ground under each object, alpha-blended opacity (opaque first, then
transparent objects back to front), 2x2 supersampling, and a photo as the ground (elevated view) or as a vertical backdrop behind a floor (front view), or a plain colour.

One `GLRenderer` per process owns one context, its framebuffers, the meshes and a small texture cache, and
renders whole clips. Pixels agree with `Camera.project`: the camera's own view and projection matrices are
used unchanged. Meshes are unit-sized (every shape fits in [-1, 1]^3 and touches at least one face of it);
an object's model matrix is translate(position) @ Rz @ Ry @ Rx @ scale(size * scale).
"""
from __future__ import annotations

import itertools
import math
import operator
import os
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from tabench import TabenchError
from tabench.synth.scene import ALL_SHAPES, Background, Camera, ObjectState, Scene
from tabench.synth.visibility import Coverage

NEAR, FAR = 0.1, 100.0
# Direction towards the light (above, slightly left of and behind the camera), shared by shading and shadows.
LIGHT_DIR = np.array([-0.35, -0.55, 1.0]) / np.linalg.norm([-0.35, -0.55, 1.0])
ANNOTATIONS = ("masks", "depth")
LOD_SEGMENTS = (16, 24, 40)  # segments around curved shapes ...
LOD_MAX_WIDTH = (280, 720, 1 << 30)  # ... for output widths up to these
BACKDROP_Y = 7.0  # the front view's photo stands behind the stage (which spans y in about [-4, 4])
COVERAGE_ATLAS = 4096  # side of the R8 atlas the visibility masks are drawn into
_INSTANCE_TEXELS = 8  # RGBA32F texels per instance in the instance texture (see _INST_VS)
_CLIP_DISTANCE0 = 0x3000  # GL_CLIP_DISTANCE0 (moderngl has no name for it)
EGL_HINT = ("no OpenGL (EGL) context could be created; install Mesa's EGL libraries "
            "(apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri) and the Python package moderngl "
            "(pip install 'tabench[synth]')")


# ----------------------------------------------------------------------------------------------- meshes
def _orient(tris: np.ndarray, normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make every triangle counter-clockwise seen from outside (so back-face culling works)."""
    face_n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    flip = np.einsum("ij,ij->i", face_n, normals.mean(axis=1)) < 0
    tris[flip] = tris[flip][:, [0, 2, 1]]
    normals[flip] = normals[flip][:, [0, 2, 1]]
    return tris, normals


def _flat(tris: np.ndarray) -> np.ndarray:
    """Triangles of a convex solid centred at the origin -> interleaved (pos, normal) with flat normals."""
    tris = np.asarray(tris, float)
    n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    outward = np.einsum("ij,ij->i", n, tris.mean(axis=1)) >= 0
    n[~outward] *= -1
    normals = np.repeat(n[:, None], 3, axis=1)
    tris, normals = _orient(tris, normals)
    return np.concatenate([tris, normals], axis=2).reshape(-1, 6)


def _grid(points: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """A parametric surface sampled on an (nu+1, nv+1) grid -> interleaved smooth-shaded triangles."""
    p00, p10, p01, p11 = points[:-1, :-1], points[1:, :-1], points[:-1, 1:], points[1:, 1:]
    n00, n10, n01, n11 = normals[:-1, :-1], normals[1:, :-1], normals[:-1, 1:], normals[1:, 1:]
    tris = np.concatenate([np.stack([p00, p10, p11], 2).reshape(-1, 3, 3), np.stack([p00, p11, p01], 2).reshape(-1, 3, 3)])
    nrm = np.concatenate([np.stack([n00, n10, n11], 2).reshape(-1, 3, 3), np.stack([n00, n11, n01], 2).reshape(-1, 3, 3)])
    keep = np.linalg.norm(np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]), axis=1) > 1e-9
    tris, nrm = _orient(tris[keep], nrm[keep])
    return np.concatenate([tris, nrm], axis=2).reshape(-1, 6)


def _disc(z: float, radius: float, segments: int, up: bool) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, segments + 1)
    rim = np.c_[radius * np.cos(a), radius * np.sin(a), np.full_like(a, z)]
    tris = np.stack([np.repeat([[0, 0, z]], segments, 0), rim[:-1], rim[1:]], 1)
    normals = np.zeros_like(tris)
    normals[..., 2] = 1.0 if up else -1.0
    tris, normals = _orient(tris, normals)
    return np.concatenate([tris, normals], axis=2).reshape(-1, 6)


def _revolve(profile_r: np.ndarray, profile_z: np.ndarray, normal_r: np.ndarray, normal_z: np.ndarray,
             segments: int) -> np.ndarray:
    """Surface of revolution around z from a profile (r(t), z(t)) and its 2D normals."""
    a = np.linspace(0, 2 * np.pi, segments + 1)
    ca, sa = np.cos(a)[None, :], np.sin(a)[None, :]
    pts = np.stack([profile_r[:, None] * ca, profile_r[:, None] * sa, np.repeat(profile_z[:, None], len(a), 1)], -1)
    nrm = np.stack([normal_r[:, None] * ca, normal_r[:, None] * sa, np.repeat(normal_z[:, None], len(a), 1)], -1)
    nrm /= np.linalg.norm(nrm, axis=-1, keepdims=True)
    return _grid(pts, nrm)


def build_meshes(segments: int = 32) -> dict[str, np.ndarray]:
    """Unit meshes of the 8 Syn-TA shapes, as float32 (N, 6) arrays of (position, normal)."""
    c = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    cube = _flat([c[[q[0], q[1], q[2]]] for q in quads] + [c[[q[0], q[2], q[3]]] for q in quads])
    base = np.array([[-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1]], float)
    apex = np.array([0, 0, 1.0])
    pyramid = _flat([[base[i], base[(i + 1) % 4], apex] for i in range(4)] + [base[[0, 1, 2]], base[[0, 2, 3]]])
    tri = np.array([[-1, -1], [1, -1], [0, 1]], float)  # (x, z) cross-section, extruded along y
    front = np.c_[tri[:, 0], -np.ones(3), tri[:, 1]]
    back = np.c_[tri[:, 0], np.ones(3), tri[:, 1]]
    prism = _flat([front, back] + [t for i in range(3) for t in (
        [front[i], front[(i + 1) % 3], back[(i + 1) % 3]], [front[i], back[(i + 1) % 3], back[i]])])
    t = np.linspace(0, 1, 2)
    cone = np.concatenate([
        _revolve(1 - t, -1 + 2 * t, np.full(2, 2.0), np.full(2, 1.0), segments),
        _disc(-1.0, 1.0, segments, up=False)])
    phi = np.linspace(-np.pi / 2, np.pi / 2, segments // 2 + 1)
    sphere = _revolve(np.cos(phi), np.sin(phi), np.cos(phi), np.sin(phi), segments)
    cylinder = np.concatenate([
        _revolve(np.ones(2), np.array([-1.0, 1.0]), np.ones(2), np.zeros(2), segments),
        _disc(-1.0, 1.0, segments, up=False), _disc(1.0, 1.0, segments, up=True)])
    # capsule: radius 0.55, straight part |z| <= 0.45, so it spans z in [-1, 1]
    r_cap, h_cap = 0.55, 0.45
    lower, upper = phi[phi <= 0], phi[phi >= 0]
    cphi = np.concatenate([lower, upper])
    cz = np.concatenate([r_cap * np.sin(lower) - h_cap, r_cap * np.sin(upper) + h_cap])
    capsule = _revolve(r_cap * np.cos(cphi), cz, np.cos(cphi), np.sin(cphi), segments)
    # torus: ring in the x-z plane (facing the camera, like a wheel), major radius 0.7, tube radius 0.3
    u = np.linspace(0, 2 * np.pi, segments + 1)[:, None]
    v = np.linspace(0, 2 * np.pi, segments // 2 + 1)[None, :]
    d = np.stack([np.cos(u) * np.ones_like(v), np.zeros_like(u * v), np.sin(u) * np.ones_like(v)], -1)
    a = np.array([0.0, 1.0, 0.0])
    n = np.cos(v)[..., None] * d + np.sin(v)[..., None] * a
    torus = _grid(0.7 * d + 0.3 * n, n)
    meshes = dict(cube=cube, cone=cone, pyramid=pyramid, prism=prism, sphere=sphere, cylinder=cylinder,
                  torus=torus, capsule=capsule)
    return {k: v.astype("f4") for k, v in meshes.items()}


# Tight local half extents of the unit meshes (for 3D bounding boxes and their 2D projections).
SHAPE_HALF_EXTENTS = {
    "cube": (1.0, 1.0, 1.0), "cone": (1.0, 1.0, 1.0), "pyramid": (1.0, 1.0, 1.0), "prism": (1.0, 1.0, 1.0),
    "sphere": (1.0, 1.0, 1.0), "cylinder": (1.0, 1.0, 1.0), "torus": (1.0, 0.3, 1.0), "capsule": (0.55, 0.55, 1.0),
}


# ------------------------------------------------------------------------------------------- transforms
def rotation_matrices(rot: np.ndarray) -> np.ndarray:
    """XYZ Euler angles (K, 3) in radians -> rotation matrices (K, 3, 3) = Rz @ Ry @ Rx."""
    rot = np.atleast_2d(np.asarray(rot, float))
    cx, cy, cz = np.cos(rot).T
    sx, sy, sz = np.sin(rot).T
    r = np.empty((len(rot), 3, 3))
    r[:, 0, 0], r[:, 0, 1], r[:, 0, 2] = cy * cz, sx * sy * cz - cx * sz, cx * sy * cz + sx * sz
    r[:, 1, 0], r[:, 1, 1], r[:, 1, 2] = cy * sz, sx * sy * sz + cx * cz, cx * sy * sz - sx * cz
    r[:, 2, 0], r[:, 2, 1], r[:, 2, 2] = -sy, sx * cy, cx * cy
    return r


def object_frame(states: list[ObjectState]) -> tuple[np.ndarray, np.ndarray]:
    """Per-object rotation (K, 3, 3) and per-axis half extents in the object frame (K, 3)."""
    rot = rotation_matrices(_attr(states, "rotation"))
    ext = _floats((SHAPE_HALF_EXTENTS.get(s.shape, (1, 1, 1)) for s in states), len(states), 3)
    return rot, ext * _sizes(states)[:, None] * _scales(states)  # whole arrays, not one small array per state


def _floats(rows, n: int, width: int) -> np.ndarray:
    """(n, width) float64 array from n rows of `width` numbers: np.fromiter over the chained rows is ~5x faster
    than np.array of a list of tuples, the per-frame hot path of rendering, sidecars and idle placement."""
    a = np.fromiter(itertools.chain.from_iterable(rows), float)
    if a.size != n * width:
        raise ValueError(f"expected {n} rows of {width} numbers, got {a.size} numbers")
    return a.reshape(n, width)


def _attr(states: list[ObjectState], name: str) -> np.ndarray:
    """One 3-vector field (position, rotation, scale, color) of every state, (K, 3) float64."""
    return _floats(map(operator.attrgetter(name), states), len(states), 3)


def _sizes(states: list[ObjectState]) -> np.ndarray:
    return np.fromiter(map(operator.attrgetter("size"), states), float, len(states))


def _scales(states: list[ObjectState]) -> np.ndarray:
    return _attr(states, "scale")


def box_corners(states: list[ObjectState]) -> np.ndarray:
    """The 8 corners of each object's oriented bounding box in stage coordinates, (K, 8, 3)."""
    if not states:
        return np.zeros((0, 8, 3))
    rot, half = object_frame(states)
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    local = signs[None] * half[:, None]
    return np.einsum("kij,kcj->kci", rot, local) + _attr(states, "position")[:, None]


def _model_matrices(states: list[ObjectState]) -> tuple[np.ndarray, np.ndarray]:
    rot = rotation_matrices(_attr(states, "rotation"))
    scale = _sizes(states)[:, None] * _scales(states)
    m = np.zeros((len(states), 4, 4))
    m[:, :3, :3] = rot * scale[:, None, :]
    m[:, :3, 3] = _attr(states, "position")
    m[:, 3, 3] = 1.0
    safe = np.where(np.abs(scale) < 1e-6, 1e-6, scale)
    normal = rot / safe[:, None, :]  # inverse-transpose of rot @ diag(scale)
    return m, normal


def _gl(m: np.ndarray) -> bytes:
    """Row-major numpy matrix -> column-major float32 bytes for a GLSL matrix uniform."""
    return np.ascontiguousarray(np.swapaxes(m, -1, -2), dtype="f4").tobytes()


# -------------------------------------------------------------------------------------------- shaders
_OBJ_VS = """
#version 330
uniform mat4 u_vp;
uniform mat4 u_model;
uniform mat3 u_normal;
in vec3 in_pos;
in vec3 in_norm;
out vec3 v_world;
out vec3 v_norm;
void main() {
    vec4 w = u_model * vec4(in_pos, 1.0);
    v_world = w.xyz;
    v_norm = u_normal * in_norm;
    gl_Position = u_vp * w;
}
"""
# Instanced objects drawn into tiles of an atlas (one frame, or one visibility mask, per tile): one draw call per
# shape and batch instead of one per object and frame (llvmpipe pays ~60 us of CPU per draw call). Instance i's
# data is row i of a float texture (`_INSTANCE_TEXELS` texels: model matrix columns, normal matrix columns with
# the colour in their w, then (tile column, tile row, id + 1, alpha)). The clip-space position is mapped into its
# tile of a u_grid.x by u_grid.y atlas and clipped to the tile's edges (what a per-tile viewport and scissor did).
_TILE_GLSL = """
uniform vec2 u_grid;
out float gl_ClipDistance[4];
vec4 tile_position(vec4 c, vec2 tile) {
    gl_ClipDistance[0] = c.w + c.x;
    gl_ClipDistance[1] = c.w - c.x;
    gl_ClipDistance[2] = c.w + c.y;
    gl_ClipDistance[3] = c.w - c.y;
    return vec4((c.x + (2.0 * tile.x + 1.0 - u_grid.x) * c.w) / u_grid.x,
                (c.y + (2.0 * tile.y + 1.0 - u_grid.y) * c.w) / u_grid.y, c.z, c.w);
}
"""
_INST_VS = """
#version 330
uniform mat4 u_vp;
uniform int u_first;
uniform sampler2D u_inst;
in vec3 in_pos;
in vec3 in_norm;
out vec3 v_world;
out vec3 v_norm;
flat out vec4 v_color;
flat out float v_id;
""" + _TILE_GLSL + """
vec4 fetch(int i, int j) { return texelFetch(u_inst, ivec2(j, i), 0); }
void main() {
    int i = u_first + gl_InstanceID;
    vec4 n0 = fetch(i, 4), n1 = fetch(i, 5), n2 = fetch(i, 6), extra = fetch(i, 7);
    vec4 w = mat4(fetch(i, 0), fetch(i, 1), fetch(i, 2), fetch(i, 3)) * vec4(in_pos, 1.0);
    v_world = w.xyz;
    v_norm = mat3(n0.xyz, n1.xyz, n2.xyz) * in_norm;
    v_color = vec4(n0.w, n1.w, n2.w, extra.w);
    v_id = extra.z;
    gl_Position = tile_position(u_vp * w, extra.xy);
}
"""
# Glossy Blinn-Phong: ambient (with a sky/ground hemisphere term), Lambert diffuse, white specular highlight.
_OBJ_FS = """
#version 330
uniform vec3 u_eye;
uniform vec3 u_light;
uniform float u_gloss;
in vec3 v_world;
in vec3 v_norm;
flat in vec4 v_color;
out vec4 f_color;
void main() {
    vec4 u_color = v_color;
    vec3 n = normalize(v_norm);
    vec3 v = normalize(u_eye - v_world);
    if (dot(n, v) < 0.0) n = -n;
    float diff = max(dot(n, u_light), 0.0);
    float hemi = 0.5 + 0.5 * n.z;
    vec3 h = normalize(u_light + v);
    float spec = u_gloss * pow(max(dot(n, h), 0.0), 48.0);
    vec3 c = u_color.rgb * (0.22 + 0.18 * hemi + 0.68 * diff) + vec3(spec);
    f_color = vec4(min(c, vec3(1.0)) * u_color.a, u_color.a);  // premultiplied alpha
}
"""
_WORLD_VS = """
#version 330
uniform mat4 u_vp;
in vec3 in_pos;
out vec3 v_world;
void main() { v_world = in_pos; gl_Position = u_vp * vec4(in_pos, 1.0); }
"""
# Ground photo (elevated view): one copy spans u_tile, mirrored beyond it (u_rot turns it about z).
_GROUND_FS = """
#version 330
uniform sampler2D u_tex;
uniform vec2 u_rot;
uniform vec2 u_tile;
in vec3 v_world;
out vec4 f_color;
void main() {
    vec2 p = vec2(u_rot.x * v_world.x + u_rot.y * v_world.y, -u_rot.y * v_world.x + u_rot.x * v_world.y);
    vec2 uv = p / u_tile + 0.5;
    vec2 mir = 1.0 - abs(mod(uv, 2.0) - 1.0);
    f_color = vec4(textureGrad(u_tex, mir, dFdx(uv), dFdy(uv)).rgb, 1.0);
}
"""
# Backdrop photo (front view): a vertical plane filling the frame; u_crop keeps the photo's aspect ratio.
_BACKDROP_FS = """
#version 330
uniform sampler2D u_tex;
uniform vec4 u_rect;   // xmin, zmin, xmax, zmax of the plane
uniform vec4 u_crop;   // u0, v0, u1, v1 of the photo
in vec3 v_world;
out vec4 f_color;
void main() {
    vec2 uv = vec2((v_world.x - u_rect.x) / (u_rect.z - u_rect.x), (v_world.z - u_rect.y) / (u_rect.w - u_rect.y));
    f_color = vec4(texture(u_tex, mix(u_crop.xy, u_crop.zw, clamp(uv, 0.0, 1.0))).rgb, 1.0);
}
"""
# Floor in front of the backdrop: a tint of the photo's bottom colour, strongest at the bottom of the frame
# and fading out evenly on screen (in 1 / distance) before the horizon, so the photo stays the scene.
_FLOOR_FS = """
#version 330
uniform vec3 u_color;
uniform vec4 u_fade;   // eye y, distance where the fade starts, distance where it ends, alpha in front
in vec3 v_world;
out vec4 f_color;
void main() {
    float d = max(v_world.y - u_fade.x, 1e-3);
    float s = clamp((1.0 / u_fade.y - 1.0 / d) / (1.0 / u_fade.y - 1.0 / u_fade.z), 0.0, 1.0);
    f_color = vec4(u_color, u_fade.w * (1.0 - smoothstep(0.0, 1.0, s)));
}
"""
_FULLSCREEN_VS = """
#version 330
in vec2 in_pos;
void main() { gl_Position = vec4(in_pos, 0.0, 1.0); }
"""
# Downsamples the 2x foreground atlas (one bilinear fetch at the centre of each 2x2 block = their mean) and
# puts it, premultiplied, over the clip's static background: one pass over the output, no CPU compositing.
_RESOLVE_FS = """
#version 330
uniform sampler2D u_fg;
uniform sampler2D u_bg;
uniform int u_tile_h;
uniform float u_factor;
out vec4 f_color;
void main() {
    vec4 fg = texture(u_fg, gl_FragCoord.xy * u_factor / vec2(textureSize(u_fg, 0)));
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec3 bg = texelFetch(u_bg, ivec2(p.x, p.y % u_tile_h), 0).rgb;
    f_color = vec4(fg.rgb + bg * (1.0 - fg.a), 1.0);
}
"""
# Blob shadows: one quad per object on the ground, all of a clip in one vertex buffer (drawn by range).
_SHADOW_VS = """
#version 330
uniform mat4 u_vp;
uniform float u_b0;  // first frame of the batch (frame t goes to tile row t - u_b0)
in vec2 in_corner;
in vec4 in_blob;   // centre x, centre y, radius, alpha
in float in_frame;
out vec2 v_uv;
out float v_alpha;
""" + _TILE_GLSL + """
void main() {
    v_uv = in_corner;
    v_alpha = in_blob.w;
    gl_Position = tile_position(u_vp * vec4(in_blob.xy + in_corner * in_blob.z, 0.003, 1.0), vec2(0.0, in_frame - u_b0));
}
"""
_SHADOW_FS = """
#version 330
in vec2 v_uv;
in float v_alpha;
out vec4 f_color;
void main() { f_color = vec4(0.0, 0.0, 0.0, v_alpha * (1.0 - smoothstep(0.35, 1.0, length(v_uv)))); }
"""
_ID_FS = """
#version 330
uniform float u_id;
out vec4 f_color;
void main() { f_color = vec4(u_id / 255.0, 0.0, 0.0, 1.0); }
"""
_FAR_VS = """
#version 330
in vec2 in_pos;
void main() { gl_Position = vec4(in_pos, 1.0, 1.0); }
"""
_CLEAR_FS = """
#version 330
out vec4 f_color;
void main() { f_color = vec4(0.0); }
"""
_INST_ID_FS = """
#version 330
flat in float v_id;
out vec4 f_color;
void main() { f_color = vec4(v_id / 255.0, 0.0, 0.0, 1.0); }
"""
_ZERO_FS = """
#version 330
out vec4 f_color;
void main() { f_color = vec4(0.0, 0.0, 0.0, 1.0); }
"""


@dataclass
class RenderResult:
    frames: np.ndarray  # (T, H, W, 3) uint8
    masks: np.ndarray | None = None  # (T, H, W) uint8: 0 background, k + 1 for object id k (capped at 255)
    depth: np.ndarray | None = None  # (T, H, W) float32: camera-space depth; inf where nothing was hit
    rgba: np.ndarray | None = None  # (T, H, W, 4) uint8 whose first 3 channels `frames` views (alpha 255): GL reads
    # and swscale converts 4-byte pixels faster than 3-byte ones, and the encoder's output is the same


@dataclass
class _Photo:
    texture: object
    aspect: float  # width / height
    floor_color: tuple[float, float, float]


def _load_photo_pixels(path: str, max_side: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        if max(im.size) > max_side:
            im.thumbnail((max_side, max_side), Image.LANCZOS)
        return np.asarray(im)


def _shadow_blobs(states: list[ObjectState]) -> np.ndarray:
    """(K, 4) blobs (x, y, radius, alpha): the object projected along the light onto the ground, fading
    with height above it."""
    out = np.zeros((len(states), 4), "f4")
    if not states:
        return out
    x, y, z = _attr(states, "position").T
    r = _sizes(states) * _scales(states).max(1)  # ObjectState.radius, for all at once
    bottom = np.maximum(z - r, 0.0)
    off = np.maximum(z, 0.0) / LIGHT_DIR[2]
    alpha = 0.5 * np.fromiter(map(operator.attrgetter("opacity"), states), float, len(states)) * np.maximum(0.0, 1.0 - bottom / 4.0)
    out[:] = np.stack([x - LIGHT_DIR[0] * off, y - LIGHT_DIR[1] * off, r * (1.15 + 0.15 * bottom), alpha], 1)
    return out


def _rects(pts: np.ndarray, group: np.ndarray, G: int, cam: Camera, w: int, h: int, margin: int = 2) -> np.ndarray:
    """Per group (a frame, or one object in one frame), the pixel rectangle (x0, y0, x1, y1; GL rows, bottom
    up; empty if x1 <= x0) holding the projections of its points (N, M, 3) (bounding-box corners, shadow
    quads), plus a margin; clipped to the frame. A group with a point behind the camera gets the whole frame."""
    x0, y0 = np.full(G, np.inf), np.full(G, np.inf)
    x1, y1 = np.full(G, -np.inf), np.full(G, -np.inf)
    if len(pts):
        m = pts.shape[1]
        clip = np.c_[pts.reshape(-1, 3), np.ones(len(pts) * m)] @ (
            cam.projection_matrix(w / h, NEAR, FAR) @ cam.view_matrix()).T
        ok = clip[:, 3] > 1e-6
        behind = (~ok).reshape(-1, m).any(1)
        px = ((clip[:, :2] / np.where(ok, clip[:, 3], 1.0)[:, None] + 1) * 0.5 * np.array([w, h])).reshape(-1, m, 2)
        lo, hi = px.min(1), px.max(1)
        lo[behind], hi[behind] = -np.inf, np.inf
        np.minimum.at(x0, group, lo[:, 0])
        np.minimum.at(y0, group, lo[:, 1])
        np.maximum.at(x1, group, hi[:, 0])
        np.maximum.at(y1, group, hi[:, 1])
    has = x1 > x0  # groups without points keep x0 = inf, x1 = -inf
    rects = np.zeros((G, 4), int)
    with np.errstate(invalid="ignore"):
        rects[:, 0] = np.clip(np.floor(np.nan_to_num(x0, neginf=0.0)) - margin, 0, w)
        rects[:, 1] = np.clip(np.floor(np.nan_to_num(y0, neginf=0.0)) - margin, 0, h)
        rects[:, 2] = np.clip(np.ceil(np.nan_to_num(x1, posinf=w)) + margin, 0, w)
        rects[:, 3] = np.clip(np.ceil(np.nan_to_num(y1, posinf=h)) + margin, 0, h)
    rects[~has] = 0
    return rects


def _merge_rects(rects: np.ndarray, group: np.ndarray, G: int) -> tuple[np.ndarray, np.ndarray]:
    """Rectangles (N, 4) of groups `group` (N,) in 0 .. G - 1 (an object's rectangle in its frame) -> rectangles
    of the same groups that cover them, overlapping rectangles of a group merged into their bounding rectangle
    until no two overlap, empty ones dropped: (M, 4) and their groups (M,), sorted by group. Clearing, compositing
    and copying per object instead of one rectangle around all of a frame's objects touches far fewer pixels when
    objects stand apart (idle objects spread over the frame), and disjoint rectangles touch no pixel twice."""
    keep = (rects[:, 2] > rects[:, 0]) & (rects[:, 3] > rects[:, 1])
    rects, group = rects[keep], np.asarray(group)[keep]
    if not len(rects):
        return np.zeros((0, 4), int), np.zeros(0, int)
    order = np.argsort(group, kind="stable")
    rects, group = rects[order], group[order]
    counts = np.bincount(group, minlength=G)
    slot = np.arange(len(group)) - (np.cumsum(counts) - counts)[group]
    K = int(counts.max())
    r = np.zeros((G, K, 4), int)
    valid = np.zeros((G, K), bool)
    r[group, slot], valid[group, slot] = rects, True
    pair = valid[:, :, None] & valid[:, None, :]
    while True:  # grow every rectangle to the bounding rectangle of those it overlaps, until nothing changes
        a, b = r[:, :, None], r[:, None, :]
        over = pair & (a[..., 0] < b[..., 2]) & (b[..., 0] < a[..., 2]) & (a[..., 1] < b[..., 3]) & (b[..., 1] < a[..., 3])
        grown = np.stack([np.where(over, b[..., 0], 1 << 30).min(2), np.where(over, b[..., 1], 1 << 30).min(2),
                          np.where(over, b[..., 2], -1).max(2), np.where(over, b[..., 3], -1).max(2)], -1)
        grown[~valid] = 0
        if np.array_equal(grown, r):
            break
        r = grown
    # now any two rectangles of a group are equal or disjoint: keep the first of equal ones
    same = pair & (r[:, :, None] == r[:, None, :]).all(-1) & np.tri(K, K, -1, bool)[None]
    t, k = np.nonzero(valid & ~same.any(2))
    return r[t, k], t


def _shadow_corners(blobs: np.ndarray) -> np.ndarray:
    """The 4 corners (K, 4, 3) of each blob shadow's ground quad (as _SHADOW_VS draws it)."""
    c = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], float)
    return np.concatenate([blobs[:, None, :2] + c[None] * blobs[:, None, 2:3], np.full((len(blobs), 4, 1), 0.003)], 2)


def _rect_quads(rects: np.ndarray, tile_col: np.ndarray, tile_row: np.ndarray, w: int, h: int, cols: int,
                rows: int) -> np.ndarray:
    """Two triangles per rectangle (float32, (N * 6, 2), NDC) for rectangles of tiles in a cols x rows atlas of
    w x h tiles."""
    r = rects.astype(float)
    x0, x1 = (r[:, 0] + tile_col * w) / (w * cols), (r[:, 2] + tile_col * w) / (w * cols)
    y0, y1 = (r[:, 1] + tile_row * h) / (h * rows), (r[:, 3] + tile_row * h) / (h * rows)
    q = np.stack([x0, y0, x1, y0, x0, y1, x0, y1, x1, y0, x1, y1], 1) * 2 - 1
    return q.reshape(-1, 2).astype("f4")


class GLRenderer:
    """Renders `Scene`s with one reusable EGL context; create once per process (see `get_renderer`).

    Speed: llvmpipe pays per flush and per shaded pixel, so the static background (camera and photo do not
    change within a clip) is rendered once per clip, and frames are drawn in batches into a tall atlas (one
    tile per frame) at `supersample` times the output size, transparent where no object or shadow is; one
    pass then downsamples it and composites it over the background, and one call reads the batch back.
    Objects are drawn instanced (one draw call per shape and batch); clearing, compositing and copying happen
    only inside each frame's rectangle around its objects and shadows, since llvmpipe's cost there grows with
    the pixels touched (elsewhere a frame is its background). See benchmarks/README.md for the measurements.
    Supersampling (2x2 by default) is the anti-aliasing: it costs less here than MSAA, whose resolve and
    multisample clears are slow on llvmpipe."""

    name = "gl"

    def __init__(self, supersample: int = 2, texture_cache: int = 24, max_atlas_px: int = 4096):
        try:
            import moderngl
        except ImportError:
            raise TabenchError(EGL_HINT) from None
        self.mgl = moderngl
        try:
            self.ctx = moderngl.create_standalone_context(backend="egl")
        except Exception as e:  # noqa: BLE001 - glcontext raises plain Exceptions
            raise TabenchError(f"{EGL_HINT} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
        ctx = self.ctx
        if supersample not in (1, 2):
            raise TabenchError(f"supersample must be 1 (off) or 2 (2x2), got {supersample}")
        self.ss = supersample
        self.max_atlas_px = max_atlas_px
        prog = ctx.program
        self.obj_prog = prog(vertex_shader=_INST_VS, fragment_shader=_OBJ_FS)
        self.cov_prog = prog(vertex_shader=_INST_VS, fragment_shader=_INST_ID_FS)
        self.id_prog = prog(vertex_shader=_OBJ_VS, fragment_shader=_ID_FS)  # annotations: one frame at a time
        self.ground_prog = prog(vertex_shader=_WORLD_VS, fragment_shader=_GROUND_FS)
        self.backdrop_prog = prog(vertex_shader=_WORLD_VS, fragment_shader=_BACKDROP_FS)
        self.floor_prog = prog(vertex_shader=_WORLD_VS, fragment_shader=_FLOOR_FS)
        self.zero_prog = prog(vertex_shader=_WORLD_VS, fragment_shader=_ZERO_FS)
        self.resolve_prog = prog(vertex_shader=_FULLSCREEN_VS, fragment_shader=_RESOLVE_FS)
        self.shadow_prog = prog(vertex_shader=_SHADOW_VS, fragment_shader=_SHADOW_FS)
        # Meshes at three levels of detail (segments around a curved shape), indexed: llvmpipe shades vertices
        # on the calling thread, so small frames use coarse meshes (the silhouette error stays under a pixel).
        self._lods = {}
        for segments in LOD_SEGMENTS:
            vaos, id_vaos, cov_vaos = {}, {}, {}
            for shape, data in build_meshes(segments).items():
                verts, index = np.unique(data, axis=0, return_inverse=True)
                vbo = ctx.buffer(verts.astype("f4").tobytes())
                ibo = ctx.buffer(index.astype("i4").ravel().tobytes())
                vaos[shape] = (ctx.vertex_array(self.obj_prog, [(vbo, "3f 3f", "in_pos", "in_norm")], ibo), len(data))
                id_vaos[shape] = (ctx.vertex_array(self.id_prog, [(vbo, "3f 3x4", "in_pos")], ibo), len(data))
                cov_vaos[shape] = (ctx.vertex_array(self.cov_prog, [(vbo, "3f 3x4", "in_pos")], ibo), len(data))
            self._lods[segments] = (vaos, id_vaos, cov_vaos)
        self.vaos, self.id_vaos, self.cov_vaos = self._lods[LOD_SEGMENTS[-1]]
        self.quad_vbo = ctx.buffer(reserve=4 * 3 * 4)
        self.quad_vaos = {p: ctx.vertex_array(getattr(self, p), [(self.quad_vbo, "3f", "in_pos")])
                          for p in ("ground_prog", "backdrop_prog", "floor_prog", "zero_prog")}
        ndc = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], "f4")
        self.resolve_vao = ctx.vertex_array(self.resolve_prog, [(ctx.buffer(ndc.tobytes()), "2f", "in_pos")])
        self.rect_vbo = ctx.buffer(reserve=1 << 16)
        self.rect_vao = ctx.vertex_array(self.resolve_prog, [(self.rect_vbo, "2f", "in_pos")])
        self.clear_prog = prog(vertex_shader=_FAR_VS, fragment_shader=_CLEAR_FS)
        self.clear_vao = ctx.vertex_array(self.clear_prog, [(self.rect_vbo, "2f", "in_pos")])
        self.resolve_prog["u_fg"].value = 0
        self.resolve_prog["u_bg"].value = 1
        self.shadow_vbo = None
        self.shadow_vao = None
        self.obj_prog["u_light"].value = tuple(LIGHT_DIR)
        self.obj_prog["u_gloss"].value = 0.6
        self.inst_tex = None  # RGBA32F, one row per instance (grown on demand)
        self.obj_prog["u_inst"].value = self.cov_prog["u_inst"].value = 2
        # uniform handles, looked up once (the per-draw path is hot)
        self.u_id_model, self.u_id = self.id_prog["u_model"], self.id_prog["u_id"]
        self.profile: dict | None = None  # see _mark
        self._mark_t = 0.0
        self._size = None
        self._photos: OrderedDict[tuple[str, int], _Photo] = OrderedDict()
        self._texture_cache = texture_cache

    # ------------------------------------------------------------------------------ resources
    def _framebuffers(self, width: int, height: int) -> None:
        if self._size == (width, height):
            return
        for fbo in getattr(self, "_fbos", []):
            fbo.release()
        ctx = self.ctx
        f = self.ss
        self.batch = max(1, min(64, self.max_atlas_px // height, 16384 // (height * f)))
        aw, ah = width, height * self.batch
        self.fbo_bg = ctx.framebuffer(ctx.renderbuffer((width, height), 4))
        self.bg_tex = ctx.texture((width, height), 3)
        self.bg_tex.filter = (self.mgl.NEAREST, self.mgl.NEAREST)
        self.fg_tex = ctx.texture((aw * f, ah * f), 4)
        self.fg_tex.filter = (self.mgl.LINEAR, self.mgl.LINEAR) if f == 2 else (self.mgl.NEAREST, self.mgl.NEAREST)
        self.fbo_fg = ctx.framebuffer(self.fg_tex, ctx.depth_renderbuffer((aw * f, ah * f)))
        self.fbo_out = ctx.framebuffer(ctx.renderbuffer((aw, ah), 4))
        self.id_depth = ctx.depth_texture((width, height))
        self.fbo_id = ctx.framebuffer(ctx.renderbuffer((width, height), 1), self.id_depth)
        self._fbos = [self.fbo_bg, self.fbo_fg, self.fbo_out, self.fbo_id]
        self._size = (width, height)

    def _photo(self, path: str, width: int) -> _Photo:
        # Texture resolution follows the frame size (mipmapped, so minification stays smooth).
        max_side = int(min(4096, max(512, 2 ** math.ceil(math.log2(max(width, 1) * 2)))))
        key = (path, max_side)
        if key in self._photos:
            self._photos.move_to_end(key)
            return self._photos[key]
        try:
            px = _load_photo_pixels(path, max_side)
        except (OSError, ValueError) as e:
            raise TabenchError(f"cannot read background image {path}: {e}") from None
        tex = self.ctx.texture((px.shape[1], px.shape[0]), 3, np.ascontiguousarray(px[::-1]).tobytes())
        tex.build_mipmaps()
        tex.filter = (self.mgl.LINEAR_MIPMAP_LINEAR, self.mgl.LINEAR)
        bottom = px[int(px.shape[0] * 0.85):].reshape(-1, 3).mean(axis=0) / 255.0
        photo = _Photo(tex, px.shape[1] / px.shape[0], tuple(float(c) * 0.8 for c in bottom))
        self._photos[key] = photo
        while len(self._photos) > self._texture_cache:
            _, old = self._photos.popitem(last=False)
            old.texture.release()
        return photo

    def _mark(self, stage: str | None) -> None:
        """Profiling (benchmarks/synth.py sets `self.profile` to a dict): CPU seconds of this process, GL
        threads included, since the last mark, added to profile[stage], after waiting for the GL work queued
        so far (so rasterisation is counted where it was queued, not where a later read waits for it).
        Without a profile dict this does nothing, and rendering is not synchronised."""
        if self.profile is None:
            return
        self.ctx.finish()
        now = time.process_time()
        if stage is not None:
            self.profile[stage] = self.profile.get(stage, 0.0) + now - self._mark_t
        self._mark_t = now

    def _write_rects(self, quads: np.ndarray) -> None:
        if self.rect_vbo.size < quads.nbytes:
            self.rect_vbo.orphan(quads.nbytes)
        self.rect_vbo.write(quads.tobytes())

    def _clear_rects(self, quads: np.ndarray) -> None:
        """Clear colour to 0 and depth to 1 inside rectangles (quads from _rect_quads), in one draw call:
        llvmpipe then loads and stores only the bins they touch, where a full clear writes the whole atlas."""
        if not len(quads):
            return
        ctx, mgl = self.ctx, self.mgl
        self._write_rects(quads)
        ctx.disable(mgl.BLEND | mgl.CULL_FACE)
        ctx.enable(mgl.DEPTH_TEST)
        ctx.depth_func = "1"  # always: writes depth 1.0 (the quads lie on the far plane)
        self.clear_vao.render(mgl.TRIANGLES, vertices=len(quads))
        ctx.depth_func = "<"

    def _tile_clipping(self, on: bool) -> None:
        """The clip distances of _TILE_GLSL (only while a tiled program draws: others do not write them)."""
        for i in range(4):
            (self.ctx.enable_direct if on else self.ctx.disable_direct)(_CLIP_DISTANCE0 + i)

    def _write_instances(self, data: np.ndarray) -> None:
        """Upload (N, _INSTANCE_TEXELS * 4) float32 instance data as rows of the instance texture (unit 2)."""
        n = max(len(data), 1)
        if self.inst_tex is None or self.inst_tex.height < n:
            if self.inst_tex is not None:
                self.inst_tex.release()
            self.inst_tex = self.ctx.texture((_INSTANCE_TEXELS, max(n, 1024)), 4, dtype="f4")
            self.inst_tex.filter = (self.mgl.NEAREST, self.mgl.NEAREST)
        if len(data):
            self.inst_tex.write(np.ascontiguousarray(data, "f4").tobytes(), viewport=(0, 0, _INSTANCE_TEXELS, len(data)))
        self.inst_tex.use(2)

    def _draw_instances(self, prog, vaos, shape: str, first: int, n: int) -> None:
        """Instances first .. first + n - 1 of the instance texture, all of one shape, in one draw call."""
        prog["u_first"].value = first
        vao, cnt = vaos[shape]
        vao.render(self.mgl.TRIANGLES, vertices=cnt, instances=n)

    def _quad(self, prog: str, corners) -> None:
        self.quad_vbo.write(np.asarray(corners, "f4").tobytes())
        self.quad_vaos[prog].render(self.mgl.TRIANGLE_STRIP, vertices=4)

    # ------------------------------------------------------------------------------ background
    def _render_background(self, scene: Scene, vp: bytes) -> np.ndarray:
        """The static background of a clip as an (H, W, 3) uint8 image (it never occludes objects)."""
        bg: Background = scene.background
        ctx, mgl, cam = self.ctx, self.mgl, scene.camera
        w, h = scene.width, scene.height
        if bg.kind == "plain":
            return np.broadcast_to(np.round(np.clip(bg.color, 0, 1) * 255).astype(np.uint8), (h, w, 3)).copy()
        if bg.kind != "photo" or not bg.image_path:
            raise TabenchError(f"background must be a photo with an image path or plain, got {bg.kind!r}")
        photo = self._photo(bg.image_path, w)
        photo.texture.use(0)
        self.fbo_bg.use()
        ctx.scissor = None
        ctx.disable(mgl.DEPTH_TEST | mgl.CULL_FACE | mgl.BLEND)
        ctx.clear(0.0, 0.0, 0.0, 1.0)
        big = 200.0  # the elevated camera sees far at its lowest pitch
        if bg.placement == "ground":
            tile = 22.0
            p = self.ground_prog
            p["u_vp"].write(vp)
            p["u_rot"].value = (1.0, 0.0)  # the camera orbits; the photo lies still
            p["u_tile"].value = (tile, tile / photo.aspect)
            self._quad("ground_prog", [[-big, -big, 0], [big, -big, 0], [-big, big, 0], [big, big, 0]])
        else:
            y_back = BACKDROP_Y
            x0, z0, x1, z1 = rect = _frustum_rect_at_y(cam, w / h, y_back)
            rect_aspect = (x1 - x0) / (z1 - z0)
            if photo.aspect > rect_aspect:  # photo wider than the frame: crop its sides
                f = rect_aspect / photo.aspect
                crop = (0.5 - f / 2, 0.0, 0.5 + f / 2, 1.0)
            else:
                f = photo.aspect / rect_aspect
                crop = (0.0, 0.5 - f / 2, 1.0, 0.5 + f / 2)
            p = self.backdrop_prog
            p["u_vp"].write(vp)
            p["u_rect"].value = rect
            p["u_crop"].value = crop
            self._quad("backdrop_prog", [[x0, y_back, z0], [x1, y_back, z0], [x0, y_back, z1], [x1, y_back, z1]])
            p = self.floor_prog
            p["u_vp"].write(vp)
            p["u_color"].value = photo.floor_color
            p["u_fade"].value = (float(cam.eye[1]), 3.5, y_back - float(cam.eye[1]), 0.75)
            ctx.enable(mgl.BLEND)
            ctx.blend_func = mgl.SRC_ALPHA, mgl.ONE_MINUS_SRC_ALPHA
            self._quad("floor_prog", [[-big, -big, 0], [big, -big, 0], [-big, y_back, 0], [big, y_back, 0]])
            ctx.disable(mgl.BLEND)
        return np.frombuffer(self.fbo_bg.read(components=3), np.uint8).reshape(h, w, 3)[::-1].copy()


    # ------------------------------------------------------------------------------ rendering
    def render(self, scene: Scene, annotations: tuple[str, ...] | list[str] = ()) -> RenderResult:
        unknown = set(annotations) - set(ANNOTATIONS)
        if unknown:
            raise TabenchError(f"unknown annotation(s) {sorted(unknown)}; choose from {', '.join(ANNOTATIONS)}")
        w, h = scene.width, scene.height
        if w % 2 or h % 2 or w < 2 or h < 2:
            raise TabenchError(f"frame size must be even, got {w}x{h}")
        self._framebuffers(w, h)
        self.vaos, self.id_vaos, self.cov_vaos = self._lods[next(n for px, n in zip(LOD_MAX_WIDTH, LOD_SEGMENTS)
                                                                 if w <= px)]
        ctx, mgl, cam = self.ctx, self.mgl, scene.camera
        vp = _gl(cam.projection_matrix(w / h, NEAR, FAR) @ cam.view_matrix())
        for p in (self.obj_prog, self.id_prog, self.cov_prog, self.shadow_prog, self.zero_prog):
            p["u_vp"].write(vp)
        self.obj_prog["u_eye"].value = tuple(float(v) for v in cam.eye)
        self._mark(None)
        background = self._render_background(scene, vp)
        self._mark("background")
        self.bg_tex.write(np.ascontiguousarray(background[::-1]).tobytes())  # GL rows are bottom-up

        # Everything per frame that numpy can compute for the whole clip at once.
        T = scene.clip.num_frames
        eye = np.asarray(cam.eye, float)
        fwd = np.asarray(cam.target, float) - eye
        fwd /= np.linalg.norm(fwd)
        per_frame, flat, frame_of = [], [], []
        for t, objs in enumerate(scene.clip.frames):
            ids = [i for i in sorted(objs) if objs[i].opacity > 0.0]
            for i in ids:
                if objs[i].shape not in self.vaos:
                    raise TabenchError(f"unknown shape {objs[i].shape!r}; choose from {', '.join(ALL_SHAPES)}")
            per_frame.append((len(flat), ids))
            flat.extend(objs[i] for i in ids)
            frame_of.extend([t] * len(ids))
        model_b, depth_c = [], np.zeros(0)
        inst = np.zeros((len(flat), _INSTANCE_TEXELS, 4), "f4")
        if flat:
            model, normal = _model_matrices(flat)
            model_b = [_gl(m) for m in model] if annotations else []
            depth_c = (_attr(flat, "position") - eye) @ fwd
            inst[:, 0:4] = np.swapaxes(model, -1, -2)  # columns
            inst[:, 4:7, :3] = np.swapaxes(normal, -1, -2)
            inst[:, 4:7, 3] = _attr(flat, "color")
            inst[:, 7, 1] = np.asarray(frame_of) % self.batch  # tile row within the batch
            inst[:, 7, 3] = np.minimum(np.fromiter(map(operator.attrgetter("opacity"), flat), float, len(flat)), 1.0)
        # draw order: per batch, opaque objects grouped by shape, then the transparent objects of every frame
        # layer by layer (each frame's farthest first), each layer grouped by shape; within a tile (a frame)
        # this is exactly the old per-frame order (opaque, then transparent back to front).
        order = []  # (batch, layer, shape, instance)
        for t, (start, ids) in enumerate(per_frame):
            ks = range(start, start + len(ids))
            see_through = sorted((j for j in ks if flat[j].opacity < 1.0), key=lambda j: -depth_c[j])
            order += [(t // self.batch, 0, flat[j].shape, j) for j in ks if flat[j].opacity >= 1.0]
            order += [(t // self.batch, 1 + r, flat[j].shape, j) for r, j in enumerate(see_through)]
        order.sort()
        blobs = _shadow_blobs(flat)
        if len(blobs):
            corners = np.array([[-1, -1], [1, -1], [-1, 1], [-1, 1], [1, -1], [1, 1]], "f4")
            data = np.concatenate([np.tile(corners, (len(blobs), 1)), np.repeat(blobs, 6, axis=0),
                                   np.repeat(np.asarray(frame_of, "f4"), 6)[:, None]], axis=1)
            data = data.astype("f4").tobytes()
            if self.shadow_vbo is None or self.shadow_vbo.size < len(data):
                if self.shadow_vbo is not None:
                    self.shadow_vao.release()
                    self.shadow_vbo.release()
                self.shadow_vbo = ctx.buffer(reserve=max(len(data), 1 << 16))
                self.shadow_vao = ctx.vertex_array(self.shadow_prog, [(self.shadow_vbo, "2f 4f 1f", "in_corner",
                                                                       "in_blob", "in_frame")])
            self.shadow_vbo.write(data)

        # one rectangle per object and its shadow, merged where they overlap (_merge_rects), per frame
        frame_of = np.asarray(frame_of, int)
        rects, rect_frame = _merge_rects(
            _rects(np.concatenate([box_corners(flat), _shadow_corners(blobs)], axis=1) if flat else np.zeros((0, 12, 3)),
                   np.arange(len(flat)), len(flat), cam, w, h), frame_of, T)
        rect_start = np.searchsorted(rect_frame, np.arange(0, T + self.batch, self.batch))
        self._mark("prepare")
        frames = np.empty((T, h, w, 4), np.uint8)
        background = np.concatenate([background, np.full((h, w, 1), 255, np.uint8)], axis=2)
        B, f = self.batch, self.ss
        rgb = bytearray(w * h * B * 4)
        ctx.blend_func = mgl.ONE, mgl.ONE_MINUS_SRC_ALPHA  # everything is premultiplied
        pos = 0
        for b0 in range(0, T, B):
            nb = min(B, T - b0)
            self.fbo_fg.use()
            ctx.viewport = (0, 0, w * f, h * f * nb)  # tile k (frame b0 + k) is row k
            r0, r1 = rect_start[b0 // B], rect_start[b0 // B + 1]
            r, live = rects[r0:r1], rect_frame[r0:r1] - b0  # the batch's rectangles and their tiles
            # clear only the rectangles: outside them nothing is drawn and the resolve reads nothing
            self._clear_rects(_rect_quads(r, np.zeros(len(live)), live, w, h, 1, nb))
            self._tile_clipping(True)
            for p in (self.obj_prog, self.shadow_prog):
                p["u_grid"].value = (1.0, float(nb))
            # 1. blob shadows of the whole batch (under everything that follows)
            ctx.enable(mgl.BLEND)
            ctx.disable(mgl.DEPTH_TEST | mgl.CULL_FACE)
            first, last = per_frame[b0][0], per_frame[b0 + nb - 1][0] + len(per_frame[b0 + nb - 1][1])
            if last > first:
                self.shadow_prog["u_b0"].value = float(b0)
                self.shadow_vao.render(mgl.TRIANGLES, vertices=6 * (last - first), first=6 * first)
            # 2. opaque objects, then 3. transparent layers (culled back faces)
            end = pos
            while end < len(order) and order[end][0] == b0 // B:
                end += 1
            if end > pos:
                self._write_instances(inst[[o[3] for o in order[pos:end]]].reshape(end - pos, -1))
                ctx.enable(mgl.DEPTH_TEST)
                runs = []  # (layer, shape, count)
                for o in order[pos:end]:
                    if runs and (runs[-1][0], runs[-1][1]) == (o[1], o[2]):
                        runs[-1][2] += 1
                    else:
                        runs.append([o[1], o[2], 1])
                first = 0
                for layer, shape, n in runs:
                    if layer == 1:
                        ctx.enable(mgl.CULL_FACE)
                    self._draw_instances(self.obj_prog, self.vaos, shape, first, n)
                    first += n
            pos = end
            self._tile_clipping(False)
            self._mark("draw")
            # 4. downsample and composite over the background, only inside each frame's rectangle around its
            # objects and shadows (elsewhere the foreground is empty and the frame is the background: sampling the
            # supersampled atlas everywhere cost more than all drawing), then read the whole batch at once
            ctx.scissor = None
            ctx.disable(mgl.BLEND | mgl.CULL_FACE | mgl.DEPTH_TEST)
            self.fbo_out.use()
            ctx.viewport = (0, 0, w, h * nb)
            self.fg_tex.use(0)
            self.bg_tex.use(1)
            self.resolve_prog["u_tile_h"].value = h
            self.resolve_prog["u_factor"].value = float(f)
            if len(live):
                self._write_rects(_rect_quads(r, np.zeros(len(live)), live, w, h, 1, nb))
                self.rect_vao.render(mgl.TRIANGLES, vertices=6 * len(live))
            self._mark("resolve")
            frames[b0:b0 + nb] = background
            if len(live):
                self.fbo_out.read_into(rgb, viewport=(0, 0, w, h * nb), components=4, alignment=1)
                # tiles are bottom-up in GL, so flipping each tile's rows gives the frames in order
                tiles = np.frombuffer(rgb, np.uint8, count=w * h * nb * 4).reshape(nb, h, w, 4)[:, ::-1]
                for k, (x0, y0, x1, y1) in zip(live.tolist(), r.tolist()):
                    frames[b0 + k, h - y1:h - y0, x0:x1] = tiles[k, h - y1:h - y0, x0:x1]
            self._mark("readback")

        masks = np.empty((T, h, w), np.uint8) if "masks" in annotations else None
        depth = np.empty((T, h, w), np.float32) if "depth" in annotations else None
        if masks is not None or depth is not None:
            for t, (start, ids) in enumerate(per_frame):
                self._annotate(t, scene, ids, flat[start:start + len(ids)], model_b[start:start + len(ids)],
                               masks, depth)
        return RenderResult(frames[..., :3], masks, depth, rgba=frames)

    def _annotate(self, t, scene, ids, states, model_b, masks, depth) -> None:
        """Aliasing-free pass: object id per pixel (every object with opacity > 0) and the depth buffer of
        the scene's geometry (ground or backdrop included)."""
        ctx, mgl = self.ctx, self.mgl
        w, h = self._size
        self.fbo_id.use()
        ctx.scissor = None
        ctx.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        ctx.enable(mgl.DEPTH_TEST)
        ctx.disable(mgl.BLEND | mgl.CULL_FACE)
        big = 60.0
        self._quad("zero_prog", [[-big, -big, 0], [big, -big, 0], [-big, big, 0], [big, big, 0]])
        if scene.background.kind == "photo" and scene.background.placement == "backdrop":
            y = BACKDROP_Y
            self._quad("zero_prog", [[-big, y, -big], [big, y, -big], [-big, y, big], [big, y, big]])
        for k, s in enumerate(states):
            self.u_id_model.write(model_b[k])
            self.u_id.value = float(min(ids[k] + 1, 255))
            vao, n = self.id_vaos[s.shape]
            vao.render(mgl.TRIANGLES, vertices=n)
        if masks is not None:
            masks[t] = np.frombuffer(self.fbo_id.read(components=1), np.uint8).reshape(h, w)[::-1]
        if depth is not None:
            d = np.frombuffer(self.id_depth.read(), np.float32).reshape(h, w)[::-1]
            z_ndc = 2.0 * d.astype(np.float64) - 1.0
            lin = 2.0 * NEAR * FAR / (FAR + NEAR - z_ndc * (FAR - NEAR))
            depth[t] = np.where(d >= 1.0, np.inf, lin)

    # ------------------------------------------------------------------------------ visibility
    def coverage(self, clip, camera: Camera, width: int, height: int) -> "Coverage":
        """The renderer's own masks for the visibility rule, without shading: per frame, the id mask (which
        object is frontmost where, as `masks` in `render`) and each object's silhouette drawn alone
        (its unoccluded area, inside the frame). Tiles of one R8 atlas: per batch of frames one instanced
        draw call per shape fills every tile, and one read brings back the rows of tiles in use."""
        ctx, mgl = self.ctx, self.mgl
        ids = sorted({i for f in clip.frames for i, s in f.items() if s.opacity > 0})
        slot = {i: k for k, i in enumerate(ids)}
        T, K = clip.num_frames, len(ids)
        masks = np.zeros((T, height, width), np.uint8)
        alone = np.zeros((T, K, height, width), bool)
        if K == 0:
            return Coverage(ids, masks, alone)
        cols = max(1, min(COVERAGE_ATLAS // width, 64))
        rows = max(1, COVERAGE_ATLAS // height)
        key = (width, height, cols, rows)
        if getattr(self, "_cov_key", None) != key:
            if getattr(self, "_cov_fbo", None) is not None:
                self._cov_fbo.release()
            self._cov_fbo = ctx.framebuffer(ctx.renderbuffer((width * cols, height * rows), 1),
                                            ctx.depth_renderbuffer((width * cols, height * rows)))
            self._cov_buf = bytearray(width * cols * height * rows)
            self._cov_key = key
        fbo = self._cov_fbo
        self._mark(None)
        vp = _gl(camera.projection_matrix(width / height, NEAR, FAR) @ camera.view_matrix())
        self.cov_prog["u_vp"].write(vp)
        self.cov_vaos = self._lods[next(n for px, n in zip(LOD_MAX_WIDTH, LOD_SEGMENTS) if width <= px)][2]
        tiles_per_frame = 1 + K
        frames_per_batch = max(1, (cols * rows) // tiles_per_frame)
        # two instances per object and frame: one into the frame's id tile, one into the object's own tile
        frame_of, flat, obj_id = [], [], []
        for t, objs in enumerate(clip.frames):
            here = [i for i in sorted(objs) if objs[i].opacity > 0]
            frame_of += [t] * len(here)
            flat += [objs[i] for i in here]
            obj_id += here
        model = np.swapaxes(_model_matrices(flat)[0], -1, -2)
        obj_id, frame_of = np.asarray(obj_id, int), np.asarray(frame_of)
        shape_of = np.array([s.shape for s in flat])
        corners = box_corners(flat)
        frame_rects = _rects(corners, frame_of, T, camera, width, height)
        obj_rects = _rects(corners, np.arange(len(flat)), len(flat), camera, width, height)
        for b0 in range(0, T, frames_per_batch):
            nb = min(frames_per_batch, T - b0)
            sel = np.flatnonzero((frame_of >= b0) & (frame_of < b0 + nb))
            if not len(sel):  # no object in these frames (all gone): their masks stay empty
                continue
            tile0 = (frame_of[sel] - b0) * tiles_per_frame
            tile_obj = tile0 + 1 + np.array([slot[i] for i in obj_id[sel]], int)
            tiles = np.concatenate([tile0, tile_obj])
            src = np.concatenate([sel, sel])
            order = np.lexsort((tiles, shape_of[src]))  # grouped by shape
            src, tiles = src[order], tiles[order]
            used_rows = -(-nb * tiles_per_frame // cols)
            inst = np.zeros((len(src), _INSTANCE_TEXELS, 4), "f4")
            inst[:, 0:4] = model[src]
            inst[:, 7, 0], inst[:, 7, 1] = tiles % cols, tiles // cols
            inst[:, 7, 2] = np.minimum(obj_id[src] + 1, 255)
            self._write_instances(inst.reshape(len(src), -1))
            # the rectangles in use: each frame's id tile (all its objects) and each object's own tile
            frames_here = np.unique(frame_of[sel])
            rect_tiles = np.concatenate([(frames_here - b0) * tiles_per_frame, tile_obj])
            rects = np.concatenate([frame_rects[frames_here], obj_rects[sel]])
            fbo.use()
            ctx.viewport = (0, 0, width * cols, height * used_rows)
            self._clear_rects(_rect_quads(rects, rect_tiles % cols, rect_tiles // cols, width, height, cols,
                                          used_rows))
            ctx.enable(mgl.DEPTH_TEST)
            ctx.disable(mgl.BLEND | mgl.CULL_FACE)
            self.cov_prog["u_grid"].value = (float(cols), float(used_rows))
            self._tile_clipping(True)
            shapes = shape_of[src]
            starts = np.flatnonzero(np.r_[True, shapes[1:] != shapes[:-1]])
            for k, first in enumerate(starts):
                end = starts[k + 1] if k + 1 < len(starts) else len(src)
                self._draw_instances(self.cov_prog, self.cov_vaos, str(shapes[first]), int(first), int(end - first))
            self._tile_clipping(False)
            self._mark("check draw")
            fbo.read_into(self._cov_buf, viewport=(0, 0, width * cols, height * used_rows), components=1, alignment=1)
            atlas = np.frombuffer(self._cov_buf, np.uint8, count=width * cols * height * used_rows)
            atlas = atlas.reshape(used_rows, height, cols, width)[:, ::-1]  # [row, y, col, x], y top down
            # copy the rectangles only (outside them the atlas was not cleared; masks and alone start at 0)
            for n, (x0, y0, x1, y1) in zip(rect_tiles.tolist(), rects.tolist()):
                if x1 <= x0 or y1 <= y0:
                    continue
                t, tile = b0 + n // tiles_per_frame, n % tiles_per_frame
                part = atlas[n // cols, height - y1:height - y0, n % cols, x0:x1]
                if tile == 0:
                    masks[t, height - y1:height - y0, x0:x1] = part
                else:
                    alone[t, tile - 1, height - y1:height - y0, x0:x1] = part > 0
            self._mark("check readback")
        return Coverage(ids, masks, alone)

    def release(self) -> None:
        self.ctx.release()


def _frustum_rect_at_y(cam: Camera, aspect: float, y: float, margin: float = 0.03) -> tuple[float, float, float, float]:
    """Axis-aligned rectangle (xmin, zmin, xmax, zmax) in the plane y = const covering the whole view."""
    inv = np.linalg.inv(cam.projection_matrix(aspect, NEAR, FAR) @ cam.view_matrix())
    eye = np.asarray(cam.eye, float)
    pts = []
    for nx in (-1, 1):
        for ny in (-1, 1):
            p = inv @ np.array([nx, ny, 1.0, 1.0])
            d = p[:3] / p[3] - eye
            s = (y - eye[1]) / d[1]
            pts.append(eye + s * d)
    pts = np.array(pts)
    x0, x1 = pts[:, 0].min(), pts[:, 0].max()
    z0, z1 = pts[:, 2].min(), pts[:, 2].max()
    mx, mz = (x1 - x0) * margin, (z1 - z0) * margin
    return (float(x0 - mx), float(z0 - mz), float(x1 + mx), float(z1 + mz))


_RENDERER: GLRenderer | None = None


def get_renderer() -> GLRenderer:
    """The process-wide renderer (one EGL context per process; workers each create their own)."""
    global _RENDERER
    if _RENDERER is None:
        _RENDERER = GLRenderer(supersample=int(os.environ.get("TABENCH_GL_SUPERSAMPLE", "2")))
    return _RENDERER


def gl_available() -> tuple[bool, str]:
    """Whether an EGL context can be created here, and why not (for test skips)."""
    try:
        get_renderer()
        return True, ""
    except TabenchError as e:
        return False, str(e)
