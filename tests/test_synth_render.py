"""Pixel-level tests of the Syn-TA renderer (moderngl on EGL): what is drawn is where the camera says."""
from __future__ import annotations

import numpy as np
import pytest

from tabench import TabenchError
from tabench.synth.scene import ALL_SHAPES, Background, Camera, Clip, ObjectState, Scene, make_camera, orbit_camera

render_gl = pytest.importorskip("tabench.synth.render_gl")
_ok, _why = render_gl.gl_available()
gl = pytest.mark.skipif(not _ok, reason=f"no EGL context: {_why}")
pytestmark = pytest.mark.gl

W, H = 256, 144
GREY = (0.5, 0.5, 0.5)
RED = (0.9, 0.05, 0.05)


def _plain(cam: Camera) -> Background:
    return Background("plain", "ground", color=GREY)


def _moving_sphere(n=10, opacity=1.0) -> Clip:
    xs = np.linspace(-2.5, 2.5, n)
    return Clip([{0: ObjectState("sphere", (float(x), 0.5, 0.8), 0.45, color=RED, opacity=opacity)} for x in xs])


def _red_pixels(frame: np.ndarray) -> np.ndarray:
    f = frame.astype(int)
    return (f[..., 0] - f[..., 1] > 60) & (f[..., 0] - f[..., 2] > 60)


@gl
@pytest.mark.parametrize("view", ["elevated", "front"])
def test_centroid_follows_projected_trajectory(view):
    cam = make_camera(view, np.random.default_rng(1))
    clip = _moving_sphere()
    res = render_gl.get_renderer().render(Scene(clip, cam, _plain(cam), W, H), annotations=("masks",))
    assert res.frames.shape == (clip.num_frames, H, W, 3) and res.frames.dtype == np.uint8
    projected = cam.project(clip.track(0), W, H)[:, :2]
    for t in range(clip.num_frames):
        for region in (_red_pixels(res.frames[t]), res.masks[t] == 1):
            ys, xs = np.nonzero(region)
            assert len(xs) > 20
            centroid = np.array([xs.mean() + 0.5, ys.mean() + 0.5])  # pixel centres
            assert np.abs(centroid - projected[t]).max() < 2.0, (t, centroid, projected[t])
    # left to right in the stage frame is left to right on screen
    assert np.all(np.diff(projected[:, 0]) > 0)


@gl
def test_plain_background_is_plain_and_opacity_zero_draws_nothing():
    cam = make_camera("elevated", np.random.default_rng(0))
    res = render_gl.get_renderer().render(Scene(_moving_sphere(opacity=0.0), cam, _plain(cam), W, H),
                                          annotations=("masks",))
    expected = np.round(np.array(GREY) * 255).astype(np.uint8)
    assert np.all(res.frames == expected)  # no object, no shadow
    assert not res.masks.any()
    res = render_gl.get_renderer().render(Scene(_moving_sphere(), cam, _plain(cam), W, H))
    for y, x in ((0, 0), (0, W - 1), (H - 1, 0), (H - 1, W - 1)):
        assert np.all(res.frames[:, y, x] == expected)
    assert not np.all(res.frames == expected)


@gl
def test_half_opacity_blends_with_the_background():
    cam = make_camera("front", np.random.default_rng(0))
    clip = Clip([{0: ObjectState("cube", (0.0, 0.0, 1.0), 0.6, color=RED, opacity=0.5)}])
    frame = render_gl.get_renderer().render(Scene(clip, cam, _plain(cam), W, H)).frames[0]
    x, y = cam.project([(0.0, 0.0, 1.0)], W, H)[0, :2].astype(int)
    r, g, _ = frame[y, x].astype(int)
    assert 127 < r < 240 and 30 < g < 120  # between grey (128, 128) and the lit red


@gl
def test_masks_depth_and_boxes_agree_with_geometry():
    cam = make_camera("elevated", np.random.default_rng(2))
    rng = np.random.default_rng(0)
    objs = {}
    for k, shape in enumerate(ALL_SHAPES):
        x = -3.0 + k * 6.0 / 7.0
        objs[k] = ObjectState(shape, (x, 1.5 * (k % 2), 0.7), 0.4, rotation=tuple(rng.uniform(0, 3, 3)),
                              color=tuple(rng.uniform(0.2, 1, 3)))
    clip = Clip([objs])
    res = render_gl.get_renderer().render(Scene(clip, cam, _plain(cam), W, H), annotations=("masks", "depth"))
    mask, depth = res.masks[0], res.depth[0]
    states = [objs[k] for k in sorted(objs)]
    corners = render_gl.box_corners(states)
    fwd = np.asarray(cam.target) - np.asarray(cam.eye)
    fwd /= np.linalg.norm(fwd)
    for k, s in enumerate(states):
        ys, xs = np.nonzero(mask == k + 1)
        assert len(xs) > 10, s.shape
        px = cam.project(corners[k], W, H)
        # every pixel of the object lies inside its projected 3D bounding box (the sidecar's 2D box)
        assert xs.min() >= px[:, 0].min() - 1 and xs.max() + 1 <= px[:, 0].max() + 1, s.shape
        assert ys.min() >= px[:, 1].min() - 1 and ys.max() + 1 <= px[:, 1].max() + 1, s.shape
        # the object's surface is nearer than its centre by at most its bounding radius
        centre_depth = (np.asarray(s.position) - np.asarray(cam.eye)) @ fwd
        d = depth[ys, xs]
        assert np.all(d > centre_depth - s.size * np.sqrt(3) - 0.05) and d.min() < centre_depth + 0.05
    assert np.isfinite(depth).all()  # the ground is everywhere under the elevated camera
    assert (mask == 0).mean() > 0.5


@gl
def test_backdrop_photo_is_upright_and_ground_photo_textures_the_floor(tmp_path):
    from PIL import Image

    img = np.zeros((90, 160, 3), np.uint8)
    img[:45] = (0, 200, 0)  # top: green
    img[45:, :80] = (220, 0, 0)  # bottom left: red
    img[45:, 80:] = (0, 0, 220)  # bottom right: blue
    path = tmp_path / "photo.png"
    Image.fromarray(img).save(path)
    cam = orbit_camera("front", 90.0, 8.75, 1.875)  # the front view's middle (pitch 12 degrees, facing +y)
    empty = Clip([{}])
    frame = render_gl.get_renderer().render(
        Scene(empty, cam, Background("photo", "backdrop", str(path)), W, H)).frames[0].astype(int)
    top, left, right = frame[5, W // 2], frame[3 * H // 4, 5], frame[3 * H // 4, W - 6]
    assert top[1] > 150 and top[0] < 60 and top[2] < 60
    assert left[0] > 120 > left[2] and right[2] > 120 > right[0]  # the bottom half, seen over the floor
    cam = make_camera("elevated", np.random.default_rng(0))
    frame = render_gl.get_renderer().render(
        Scene(empty, cam, Background("photo", "ground", str(path)), W, H)).frames[0]
    colours = {tuple(int(c) // 100 for c in px) for px in frame.reshape(-1, 3)[::97]}
    assert len(colours) >= 2  # the photo, not a plain fill


@gl
def test_rendering_is_deterministic():
    cam = make_camera("front", np.random.default_rng(5))
    clip = _moving_sphere(6, opacity=0.7)
    r = render_gl.get_renderer()
    a = r.render(Scene(clip, cam, _plain(cam), W, H)).frames
    b = r.render(Scene(clip, cam, _plain(cam), W, H)).frames
    assert np.array_equal(a, b)


def test_meshes_fit_their_declared_extents():
    meshes = render_gl.build_meshes()
    for shape in ALL_SHAPES:
        pos = meshes[shape][:, :3]
        half = np.abs(pos).max(axis=0)
        assert np.allclose(half, render_gl.SHAPE_HALF_EXTENTS[shape], atol=1e-3), shape
        n = meshes[shape][:, 3:]
        assert np.allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-3), shape


def test_missing_egl_names_the_packages(monkeypatch):
    import moderngl

    def fail(*a, **k):
        raise Exception("eglGetDisplay failed")

    monkeypatch.setattr(moderngl, "create_standalone_context", fail)
    with pytest.raises(TabenchError, match="apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri"):
        render_gl.GLRenderer()


@gl
def test_bad_inputs_are_user_errors():
    cam = make_camera("front", np.random.default_rng(0))
    r = render_gl.get_renderer()
    with pytest.raises(TabenchError, match="even"):
        r.render(Scene(Clip([{}]), cam, _plain(cam), 101, 56))
    with pytest.raises(TabenchError, match="annotation"):
        r.render(Scene(Clip([{}]), cam, _plain(cam), W, H), annotations=("normals",))
    with pytest.raises(TabenchError, match="cannot read background"):
        r.render(Scene(Clip([{}]), cam, Background("photo", "backdrop", "/nonexistent.jpg"), W, H))


def _busy_clip(n: int, seed: int = 0) -> Clip:
    """Several shapes tumbling, growing, fading, some leaving the frame: what the per-frame rectangles must hold."""
    rng = np.random.default_rng(seed)
    shapes = rng.choice(ALL_SHAPES, 5)
    start, end = rng.uniform(-4, 4, (5, 3)), rng.uniform(-4, 4, (5, 3))
    start[:, 2], end[:, 2] = np.abs(start[:, 2]) + 0.3, np.abs(end[:, 2]) + 0.3
    frames = []
    for t in range(n):
        u = t / (n - 1)
        frames.append({k: ObjectState(str(shapes[k]), tuple((1 - u) * start[k] + u * end[k]), 0.3 + 0.5 * u,
                                      rotation=tuple(rng.uniform(0, 6, 3)), scale=(1.0, 0.6 + u, 1.0),
                                      color=RED, opacity=0.6 if k == 4 else 1.0)
                       for k in range(5) if (t + k) % 7})  # objects come and go
    return Clip(frames)


@gl
@pytest.mark.parametrize("view", ["elevated", "front"])
def test_compositing_only_around_objects_equals_the_full_frame_composite(view, monkeypatch):
    """Frames are composited only inside each frame's rectangle around its objects and shadows; forcing the
    whole frame gives the same pixels (so no object or shadow edge is ever cut), over more than one batch."""
    cam = make_camera(view, np.random.default_rng(3))
    scene = Scene(_busy_clip(70), cam, _plain(cam), W, H)
    r = render_gl.get_renderer()
    fast = r.render(scene)
    assert np.array_equal(fast.rgba[..., :3], fast.frames) and np.all(fast.rgba[..., 3] == 255)
    full = render_gl._rects

    def whole_frames(pts, group, G, cam, w, h, margin=2):
        rects = full(pts, group, G, cam, w, h, margin)
        rects[:] = (0, 0, w, h)
        return rects

    monkeypatch.setattr(render_gl, "_rects", whole_frames)
    slow = r.render(scene)
    assert np.array_equal(fast.frames, slow.frames)
    cov_whole = r.coverage(scene.clip, cam, W, H)
    monkeypatch.undo()
    cov = r.coverage(scene.clip, cam, W, H)
    assert np.array_equal(cov.masks, cov_whole.masks) and np.array_equal(cov.alone, cov_whole.alone)


@gl
def test_rgba_and_rgb_frames_encode_to_the_same_video(tmp_path):
    from tabench.synth.encode import encode_video

    cam = make_camera("front", np.random.default_rng(1))
    res = render_gl.get_renderer().render(Scene(_busy_clip(12), cam, _plain(cam), W, H))
    encode_video(tmp_path / "rgb.mp4", np.ascontiguousarray(res.frames))
    encode_video(tmp_path / "rgba.mp4", res.rgba)
    assert (tmp_path / "rgb.mp4").read_bytes() == (tmp_path / "rgba.mp4").read_bytes()
    with pytest.raises(TabenchError, match="T, H, W, 3"):
        encode_video(tmp_path / "bad.mp4", res.rgba[..., :2])


def test_merged_rectangles_cover_every_object_and_never_overlap():
    """The per-object rectangles the renderer clears, composites and copies: every input rectangle lies inside
    one output rectangle of its frame, and no two output rectangles of a frame share a pixel."""
    rng = np.random.default_rng(0)
    n, frames = 400, 30
    x0, y0 = rng.integers(0, 180, n), rng.integers(0, 100, n)
    rects = np.stack([x0, y0, x0 + rng.integers(0, 30, n), y0 + rng.integers(0, 20, n)], 1)  # some empty
    group = rng.integers(0, frames, n)
    out, out_group = render_gl._merge_rects(rects, group, frames)
    assert np.all(np.diff(out_group) >= 0) and np.all(out[:, 2] > out[:, 0]) and np.all(out[:, 3] > out[:, 1])
    for t in range(frames):
        mine = out[out_group == t]
        for a in range(len(mine)):
            for b in range(a + 1, len(mine)):
                p, q = mine[a], mine[b]
                assert p[2] <= q[0] or q[2] <= p[0] or p[3] <= q[1] or q[3] <= p[1], (t, p, q)
        for r in rects[(group == t) & (rects[:, 2] > rects[:, 0]) & (rects[:, 3] > rects[:, 1])]:
            assert any(m[0] <= r[0] and m[1] <= r[1] and r[2] <= m[2] and r[3] <= m[3] for m in mine), (t, r)
    assert len(out) < n  # overlapping ones were merged
    apart = np.array([[0, 0, 10, 10], [20, 0, 30, 10], [5, 5, 25, 8]])
    assert render_gl._merge_rects(apart[:2], np.zeros(2, int), 1)[0].tolist() == apart[:2].tolist()
    assert render_gl._merge_rects(apart, np.zeros(3, int), 1)[0].tolist() == [[0, 0, 30, 10]]


def test_project_follows_a_camera_moved_after_a_projection():
    """Camera.project keeps its matrices between calls; a camera whose eye, target or field of view changes
    afterwards must project with the new ones (no stale cache)."""
    cam = make_camera("front", np.random.default_rng(0))
    pts = np.array([[0.5, 0.3, 0.4], [-1.0, 1.0, 0.2]])
    first = cam.project(pts, 200, 112)
    def fresh(c):
        return Camera(c.view, c.azimuth_deg, c.eye, c.target, c.fov_y_deg)

    for change in ({"eye": tuple(np.add(cam.eye, (0.5, -0.3, 0.2)))}, {"target": (0.2, 0.5, 0.6)},
                   {"fov_y_deg": 30.0}):
        for k, v in change.items():
            setattr(cam, k, v)
        moved = cam.project(pts, 200, 112)
        assert not np.allclose(moved, first)
        np.testing.assert_array_equal(moved, fresh(cam).project(pts, 200, 112))
        first = moved
    np.testing.assert_array_equal(cam.project(pts, 100, 100), fresh(cam).project(pts, 100, 100))  # other aspect
