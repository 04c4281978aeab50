"""What each Syn-TA motion program does: its trajectories do what the fine class's name says, over several
seeds and clip lengths (coarse classes in alphabetical order, appearing ... teleporting). The contract every
program keeps is in test_motion_contract.py."""
from __future__ import annotations

import colorsys
import itertools
import json
import os
from functools import lru_cache

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tabench import TabenchError  # noqa: E402
from tabench.synth.motions import MotionContext, all_motions  # noqa: E402
from tabench.synth.scene import SET_SHAPES, make_camera  # noqa: E402
from tabench.taxonomy import load  # noqa: E402

SEEDS = range(5)
LENGTHS = (60, 105, 250)
FRAMES = LENGTHS
FPS = 24
TAX = load("syn-ta")
MINE = {f.slug: f for f in TAX.fine}
COARSE_OF = {slug: TAX.coarse[f.coarse_id].name for slug, f in MINE.items()}


# ----- trajectory helpers (used by the classes appearing ... falling) ----------------------------------------
@lru_cache(maxsize=None)
def make(slug: str, seed: int, n: int):
    f = MINE[slug]
    ctx = MotionContext(set_id=f.set, shapes=SET_SHAPES[f.set], num_frames=n)
    return all_motions()[slug](np.random.default_rng(seed), ctx)


def clips(slug):
    for n in LENGTHS:
        for seed in SEEDS:
            yield n, make(slug, seed, n)


def pos(c, i):
    return c.track(i, "position")


def opac(c, i):
    return c.track(i, "opacity")


def size(c, i):
    return c.track(i, "size")


def height(c, i):
    """Height of the object's bottom above the ground."""
    return pos(c, i)[:, 2] - size(c, i)


def static(c, i) -> bool:
    return np.ptp(pos(c, i), axis=0).max() < 1e-9


def moving_frames(x):
    """Indices of the frames in which x changes (to the next frame)."""
    return np.flatnonzero(np.abs(np.diff(x)) > 1e-9)


def local_minima(h, rel=0.25):
    """Frames where h dips to a local minimum close to zero (ground contacts), including the landing
    that ends a motion (h reaches 0 and stays)."""
    top = np.nanmax(h)
    return [i for i in range(1, len(h) - 1) if h[i] < rel * top
            and ((h[i] <= h[i - 1] and h[i] < h[i + 1]) or (h[i] == 0 < h[i - 1]))]


def peaks_between(h, mins):
    return [h[a:b + 1].max() for a, b in zip(mins[:-1], mins[1:])]


def reversals(x):
    d = np.diff(x)
    s = np.sign(d[np.abs(d) > 1e-9])
    return int((s[1:] != s[:-1]).sum())


def of(coarse):
    return [s for s in MINE if COARSE_OF[s] == coarse]



# ----- trajectory helpers (used by the classes following ... teleporting) ------------------------------------
@lru_cache(maxsize=None)
def _clip(slug: str, seed: int, num_frames: int):
    f = TAX.by_slug(slug)
    ctx = MotionContext(f.set, SET_SHAPES[f.set], num_frames)
    return all_motions()[slug](np.random.default_rng(seed), ctx)


def each_clip(slug: str):
    for seed in SEEDS:
        for n in FRAMES:
            yield _clip(slug, seed, n)


# ----- trajectory helpers ---------------------------------------------------------------------------------
def sizes_of(clip, i) -> np.ndarray:
    return np.atleast_1d(clip.track(i, "size"))


def visible(clip, i) -> np.ndarray:
    return np.array([i in f and f[i].opacity > 0 for f in clip.frames])


def count(clip) -> np.ndarray:
    return np.array([len(f) for f in clip.frames])


def moves(clip, i) -> bool:
    p = pos(clip, i)
    p = p[~np.isnan(p[:, 0])]
    return np.ptp(p, axis=0).max() > 1e-6


def steps(p) -> np.ndarray:
    """Per-frame displacement (T-1, D)."""
    return np.diff(p, axis=0)


def moving_steps(p, eps=1e-7) -> np.ndarray:
    return np.linalg.norm(steps(p), axis=1) > eps


def cosines(a, b) -> np.ndarray:
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    return np.sum(a * b, axis=1) / (na * nb)


def collinear_error(p) -> float:
    """Largest distance of the points from their best-fitting straight line."""
    rel = p - p.mean(axis=0)
    d = np.linalg.svd(rel, full_matrices=False)[2][0]
    return float(np.linalg.norm(rel - np.outer(rel @ d, d), axis=1).max())


def dist_to_polyline(points, poly) -> np.ndarray:
    a, b = poly[:-1], poly[1:]
    ab = b - a
    out = []
    for q in points:
        s = np.clip(np.sum((q - a) * ab, axis=1) / np.maximum(np.sum(ab * ab, axis=1), 1e-12), 0, 1)
        out.append(np.linalg.norm(a + s[:, None] * ab - q, axis=1).min())
    return np.array(out)


def signed_angle(p, c, axes=(0, 1)) -> np.ndarray:
    """Unwrapped angle of p around c in the plane of `axes` (counter-clockwise positive in that plane)."""
    i, j = axes
    return np.unwrap(np.arctan2(p[:, j] - c[j], p[:, i] - c[i]))


def fit_circle(p) -> np.ndarray:
    a = np.c_[2 * p[:, 0], 2 * p[:, 1], np.ones(len(p))]
    sol = np.linalg.lstsq(a, p[:, 0] ** 2 + p[:, 1] ** 2, rcond=None)[0]
    return sol[:2]


def min_gap(clip, i, j) -> float:
    """Smallest centre distance minus both radii over frames where both are visible."""
    best = np.inf
    for f in clip.frames:
        if i in f and j in f and f[i].opacity > 0 and f[j].opacity > 0:
            d = np.linalg.norm(np.subtract(f[i].position, f[j].position)) - f[i].radius() - f[j].radius()
            best = min(best, d)
    return best


def ids(clip):
    return clip.object_ids()


def static_and_moving(clip):
    s = [i for i in ids(clip) if not moves(clip, i)]
    return s, [i for i in ids(clip) if i not in s]


# cameras of the occlusion classes' family (seen from around the front, scene.camera_family)
CAMERAS = [make_camera(v, np.random.default_rng(k), "viewer") for v in ("elevated", "front") for k in range(3)]


def screen(cam, state) -> tuple[np.ndarray, float, float]:
    """Image disk of an object (centre px, radius px, depth) from the camera's own projection."""
    c = cam.project(np.array(state.position), 1000, 1000)[0]
    right = cam.view_matrix()[0, :3]
    edge = cam.project(np.array(state.position) + state.radius() * right, 1000, 1000)[0]
    return c[:2], float(np.linalg.norm(edge[:2] - c[:2])), float(c[2])


def hidden(cam, front, back) -> float:
    """Share of `back`'s image disk covered by `front`'s (sampled); asserts `front` is nearer."""
    cf, rf, zf = screen(cam, front)
    cb, rb, zb = screen(cam, back)
    assert zf < zb
    g = np.linspace(-1, 1, 41)
    xx, yy = np.meshgrid(g, g)
    inside = xx ** 2 + yy ** 2 <= 1
    pts = cb + rb * np.c_[xx[inside], yy[inside]]
    return float(np.mean(np.linalg.norm(pts - cf, axis=1) <= rf))


def _overlaps(c, t):
    fr = c.frames[t]
    ids = [i for i in fr if fr[i].opacity > 0]
    for a in range(len(ids)):
        for b in range(a + 1, len(ids)):
            sa, sb = fr[ids[a]], fr[ids[b]]
            d = np.linalg.norm(np.subtract(sa.position, sb.position))
            if d < sa.radius() + sb.radius() - 1e-9:
                return True
    return False


# ----- appearing / disappearing -----------------------------------------------------------------------------
def _fades_in(o):
    return o[0] == 0 and o[-1] == 1 and (np.diff(o) >= -1e-12).all()


def _fades_out(o):
    return o[0] == 1 and o[-1] == 0 and (np.diff(o) <= 1e-12).all()


def _cross(o, level=0.5):
    return int(np.argmax(o >= level)) if o[-1] >= level else int(np.argmax(o <= level))


def test_appearing():
    for n, c in clips("single_object_appearing_by_increasing_opacity"):
        assert c.object_ids() == [0] and _fades_in(opac(c, 0)) and static(c, 0)
    for n, c in clips("multiple_objects_all_appearing_simultaneously_by_increasing_opacity"):
        ids = c.object_ids()
        assert len(ids) >= 3 and all(_fades_in(opac(c, i)) and static(c, i) for i in ids)
        assert all(np.array_equal(opac(c, i), opac(c, 0)) for i in ids), "same opacity at every frame"
    for n, c in clips("multiple_objects_all_appearing_one_by_one_by_increasing_opacity"):
        ids = c.object_ids()
        assert len(ids) >= 3 and all(_fades_in(opac(c, i)) for i in ids)
        starts = sorted(int(np.argmax(opac(c, i) > 0)) for i in ids)
        assert min(np.diff(starts)) >= 0.1 * n, "fade-ins start at clearly different times"
        for i in ids:  # the next object starts only once this one is (nearly) opaque
            o, start = opac(c, i), int(np.argmax(opac(c, i) > 0))
            later = [int(np.argmax(opac(c, j) > 0)) for j in ids if int(np.argmax(opac(c, j) > 0)) > start]
            assert not later or o[min(later)] >= 0.8
    for n, c in clips("two_objects_appearing_among_two_other_objects"):
        ids = c.object_ids()
        appear = [i for i in ids if _fades_in(opac(c, i))]
        stay = [i for i in ids if (opac(c, i) == 1).all()]
        assert len(ids) == 4 and len(appear) == 2 and len(stay) == 2
        xy = np.array([pos(c, i)[0, :2] for i in ids])
        centre = xy.mean(axis=0)
        reach = max(np.linalg.norm(xy[i] - centre) for i in stay)
        assert all(np.linalg.norm(xy[i] - centre) <= reach + 1e-9 for i in appear), "the new ones are among the others"


def test_disappearing():
    for n, c in clips("single_object_disappearing_by_decreasing_opacity"):
        assert c.object_ids() == [0] and _fades_out(opac(c, 0)) and static(c, 0)
    for n, c in clips("multiple_objects_all_disappearing_simultaneously_by_decreasing_opacity"):
        ids = c.object_ids()
        assert len(ids) >= 3 and all(_fades_out(opac(c, i)) for i in ids)
        assert all(np.array_equal(opac(c, i), opac(c, 0)) for i in ids)
    for n, c in clips("multiple_objects_all_disappearing_one_by_one_by_decreasing_opacity"):
        ids = c.object_ids()
        assert len(ids) >= 3 and all(_fades_out(opac(c, i)) for i in ids)
        starts = sorted(int(np.argmax(opac(c, i) < 1)) for i in ids)
        assert min(np.diff(starts)) >= 0.1 * n
        ends = sorted(int(np.argmax(opac(c, i) == 0)) for i in ids)
        assert all(e <= s for e, s in zip(ends[:-1], starts[1:])), "one has (nearly) gone before the next fades"
    for n, c in clips("multiple_objects_some_disappearing_and_some_remaining"):
        ids = c.object_ids()
        gone = [i for i in ids if _fades_out(opac(c, i))]
        stay = [i for i in ids if (opac(c, i) == 1).all()]
        assert len(gone) >= 1 and len(stay) >= 1 and len(gone) + len(stay) == len(ids)


# ----- arriving / departing ---------------------------------------------------------------------------------
OFF_CAMERA = 8.0  # |x| beyond which an object is outside every view (16:9 included)


def _arrives(x, n):
    """Starts outside every view, moves monotonically in, and is at rest on the stage for the last 10%."""
    d = np.diff(x)
    return (abs(x[0]) >= OFF_CAMERA and abs(x[-1]) <= 3.5 and ((d >= -1e-9).all() or (d <= 1e-9).all())
            and np.ptp(x[-max(2, n // 10):]) < 1e-9)


def _departs(x, n):
    return _arrives(x[::-1], n)


def _movers(c):
    return [i for i in c.object_ids() if not static(c, i)]


def test_arriving_single_and_groups():
    for n, c in clips("single_object_arriving"):
        assert c.object_ids() == [0] and _arrives(pos(c, 0)[:, 0], n)
    for n, c in clips("multiple_objects_arriving_simultaneously"):
        ids = c.object_ids()
        assert len(ids) >= 2 and all(_arrives(pos(c, i)[:, 0], n) for i in ids)
        starts = {moving_frames(pos(c, i)[:, 0])[0] for i in ids}
        stops = {moving_frames(pos(c, i)[:, 0])[-1] for i in ids}
        assert max(starts) - min(starts) <= 1 and max(stops) - min(stops) <= 1
    for n, c in clips("multiple_objects_arriving_one_by_one"):
        ids = c.object_ids()
        assert len(ids) >= 3 and all(_arrives(pos(c, i)[:, 0], n) for i in ids)
        runs = sorted((moving_frames(pos(c, i)[:, 0])[0], moving_frames(pos(c, i)[:, 0])[-1]) for i in ids)
        assert all(b[0] - a[0] >= 0.15 * n for a, b in zip(runs, runs[1:]))
        assert all(a[1] <= b[0] for a, b in zip(runs, runs[1:])), "each has arrived before the next sets off"


def _pair(c):
    (mover,) = _movers(c)
    (other,) = [i for i in c.object_ids() if i != mover]
    return mover, other


def _gap(c, a, b):
    """Centre distance minus the two radii, per frame."""
    d = np.linalg.norm(pos(c, a) - pos(c, b), axis=1)
    return d - size(c, a) - size(c, b)


def test_arriving_beside_another():
    for n, c in clips("single_object_arriving_beside_another_single_object"):
        a, b = _pair(c)
        x, xb = pos(c, a)[:, 0], pos(c, b)[0, 0]
        assert _arrives(x, n)
        assert 0 < _gap(c, a, b)[-1] <= 1.0, "rests right beside the other object"
        assert np.sign(x[0] - xb) == np.sign(x[-1] - xb), "comes from its own side, never through the other"
        assert abs(pos(c, a)[-1, 1] - pos(c, b)[0, 1]) < 1e-9
    for n, c in clips("single_object_arriving_beside_another_single_object_pausing_then_going_away"):
        a, b = _pair(c)
        x, gap = pos(c, a)[:, 0], _gap(c, a, b)
        assert abs(x[0]) >= OFF_CAMERA and abs(x[-1]) >= OFF_CAMERA
        still = np.flatnonzero(np.abs(x - x[np.argmin(gap)]) < 1e-9)
        assert len(still) >= 0.15 * n and np.ptp(still) == len(still) - 1, "pauses once"
        assert 0 < gap[still].max() <= 1.0, "right beside the other object"
        assert (np.diff(gap[still[-1]:]) >= -1e-9).all() and gap[-1] > 5, "then goes away"


def _inside_hull(p, pts):
    for a in np.linspace(0, 2 * np.pi, 360, endpoint=False):
        if ((pts - p) @ np.array([np.cos(a), np.sin(a)])).max() <= 0:
            return False
    return True


def test_arriving_among_many():
    for n, c in clips("single_object_arriving_among_many_objects"):
        (a,) = _movers(c)
        others = [i for i in c.object_ids() if i != a]
        assert len(others) >= 4 and _arrives(pos(c, a)[:, 0], n)
        assert _inside_hull(pos(c, a)[-1, :2], np.array([pos(c, i)[0, :2] for i in others]))


def test_departing_single_and_groups():
    for n, c in clips("single_object_departing"):
        assert c.object_ids() == [0] and _departs(pos(c, 0)[:, 0], n)
    for n, c in clips("multiple_objects_departing_simultaneously"):
        ids = c.object_ids()
        assert len(ids) >= 2 and all(_departs(pos(c, i)[:, 0], n) for i in ids)
        starts = {moving_frames(pos(c, i)[:, 0])[0] for i in ids}
        assert max(starts) - min(starts) <= 1
    for n, c in clips("multiple_objects_departing_one_by_one"):
        ids = c.object_ids()
        assert len(ids) >= 3 and all(_departs(pos(c, i)[:, 0], n) for i in ids)
        runs = sorted((moving_frames(pos(c, i)[:, 0])[0], moving_frames(pos(c, i)[:, 0])[-1]) for i in ids)
        assert all(b[0] - a[0] >= 0.15 * n for a, b in zip(runs, runs[1:]))
        assert all(a[1] <= b[0] for a, b in zip(runs, runs[1:])), "each has gone before the next sets off"


def test_departing_beside_and_among():
    for n, c in clips("single_object_departing_beside_another_single_object"):
        a, b = _pair(c)
        assert _departs(pos(c, a)[:, 0], n) and 0 < _gap(c, a, b)[0] <= 1.0
    for n, c in clips("single_object_departing_beside_another_single_object_then_coming_back_shortly"):
        a, b = _pair(c)
        x, gap = pos(c, a)[:, 0], _gap(c, a, b)
        assert 0 < gap[0] <= 1.0 and np.allclose(pos(c, a)[-1], pos(c, a)[0]), "returns to the same place"
        away = np.flatnonzero(np.abs(x) >= OFF_CAMERA)
        assert 1 <= len(away) <= 0.25 * n, "out of view, but only briefly"
        assert np.ptp(away) == len(away) - 1, "leaves once and comes back once"
        assert np.ptp(x[-max(2, n // 10):]) < 1e-9
    for n, c in clips("single_object_departing_among_many_objects"):
        (a,) = _movers(c)
        others = [i for i in c.object_ids() if i != a]
        assert len(others) >= 4 and _departs(pos(c, a)[:, 0], n)
        assert _inside_hull(pos(c, a)[0, :2], np.array([pos(c, i)[0, :2] for i in others]))


# ----- bouncing -------------------------------------------------------------------------------------------
def _bounces_to_rest(c, i, n):
    h = height(c, i)
    mins = local_minima(h)
    peaks = peaks_between(h, mins)
    return (len(mins) >= 3 and all(b < a for a, b in zip(peaks, peaks[1:])) and h[:mins[0]].max() > peaks[0]
            and np.abs(h[-max(2, n // 10):]).max() < 1e-9 and np.ptp(pos(c, i)[:, :2], axis=0).max() < 1e-9)


def test_bouncing_eventually_stops():
    for n, c in clips("single_ball_bouncing_on_a_plain_surface_eventually_stops"):
        assert c.object_ids() == [0] and _bounces_to_rest(c, 0, n)
    for n, c in clips("multiple_balls_bouncing_on_plain_surface_at_very_different_heights_eventually_stop"):
        ids = c.object_ids()
        assert len(ids) >= 2 and all(_bounces_to_rest(c, i, n) for i in ids)
        drops = [height(c, i).max() for i in ids]
        assert max(drops) / min(drops) >= 2.5
    for n, c in clips("multiple_objects_bouncing_on_plain_surface_at_almost_similar_heights_eventually_stop"):
        ids = c.object_ids()
        assert len(ids) >= 2 and all(_bounces_to_rest(c, i, n) for i in ids)
        drops = [height(c, i).max() for i in ids]
        assert max(drops) / min(drops) <= 1.2


def test_bouncing_perpetually():
    for n, c in clips("single_object_bouncing_on_a_plain_surface_perpetually"):
        h = height(c, 0)
        mins = local_minima(h)
        peaks = peaks_between(h, mins)
        assert len(mins) >= 3 and max(peaks) / min(peaks) <= 1.05, "bounces keep their height"
        assert h[-max(2, n // 10):].max() > 0.3 * max(peaks), "still bouncing at the end"


def test_bouncing_forward():
    for n, c in clips("single_object_bouncing_and_going_forward"):
        x = pos(c, 0)[:, 0]
        assert len(local_minima(height(c, 0))) >= 3
        assert abs(x[-1] - x[0]) >= 4 and reversals(x) == 0 and np.ptp(pos(c, 0)[:, 1]) < 1e-9


def _landings(c):
    z = pos(c, 0)[:, 2]
    return [z[i] for i in range(1, len(z) - 1) if z[i] <= z[i - 1] and z[i] < z[i + 1]]


def test_bouncing_down_and_up_stairs():
    for n, c in clips("single_object_imitating_the_motion_of_bouncing_and_going_down_stairs"):
        z, x, s = pos(c, 0)[:, 2], pos(c, 0)[:, 0], size(c, 0)[0]
        assert reversals(x) == 0
        lands = _landings(c)
        assert len(lands) >= 2 and all(b < a - 0.2 for a, b in zip(lands, lands[1:])), "each landing is a step lower"
        assert z[0] - s >= 1.0 and abs(z[-1] - s) < 1e-9, "from the top step to the ground"
    for n, c in clips("single_object_imitating_the_motion_of_bouncing_and_going_up_stairs"):
        z, x, s = pos(c, 0)[:, 2], pos(c, 0)[:, 0], size(c, 0)[0]
        assert reversals(x) == 0
        lands = _landings(c)
        assert len(lands) >= 2 and all(b > a + 0.2 for a, b in zip(lands, lands[1:])), "each landing is a step higher"
        assert abs(z[0] - s) < 1e-9 and z[-1] - s >= 1.0, "from the ground to the top step"


def test_bouncing_against_a_wall():
    for n, c in clips("single_object_imitating_the_motion_of_bouncing_against_a_wall"):
        assert c.object_ids() == [0], "no wall in the scene: the motion alone says 'wall'"
        x, s = pos(c, 0)[:, 0], size(c, 0)[0]
        side = c.params["wall_side"]
        face = c.params["wall_x"] - side * 0.12  # where the (invisible) wall's face would be
        reach = side * (x + side * s - face)  # 0 when touching the wall, negative before it
        hit = int(np.argmax(reach))
        assert reach.max() <= 1e-9 and abs(reach[hit]) < 1e-6, "touches the wall without going in"
        before, after = np.diff(side * x[:hit + 1]), np.diff(side * x[hit:])
        assert (before >= -1e-9).all() and (after <= 1e-9).all() and after.sum() < -1.0, "rebounds off it"


# ----- changing colour / shape ------------------------------------------------------------------------------
def _colors(c, i):
    return c.track(i, "color")


def _clusters(cols, thr=0.25):
    centres = []
    for col in cols:
        if all(np.linalg.norm(col - k) > thr for k in centres):
            centres.append(col)
    return centres


def test_changing_color():
    for n, c in clips("single_object_keeps_changing_colors"):
        col = _colors(c, 0)
        assert static(c, 0) and len(_clusters(col)) >= 4
        changes = np.flatnonzero(np.linalg.norm(np.diff(col, axis=0), axis=1) > 1e-9)
        assert changes[-1] >= 0.6 * n, "keeps changing late into the clip"
    for n, c in clips("two_objects_changing_colors_by_switching_with_each_other"):
        a, b = _colors(c, 0), _colors(c, 1)
        assert np.linalg.norm(a[0] - b[0]) > 0.3
        assert np.allclose(a[-1], b[0]) and np.allclose(b[-1], a[0])
    for n, c in clips("single_object_changing_from_bright_to_dark_color"):
        v = _colors(c, 0).max(axis=1)  # HSV value
        assert v[0] >= 0.85 and v[-1] <= 0.25 and (np.diff(v) <= 1e-9).all()
        hues = [colorsys.rgb_to_hsv(*col)[0] for col in _colors(c, 0)]
        assert np.ptp(hues) < 1e-6, "same hue, only darker"
    for n, c in clips("single_object_changing_from_dark_to_bright_color"):
        v = _colors(c, 0).max(axis=1)
        assert v[0] <= 0.25 and v[-1] >= 0.85 and (np.diff(v) >= -1e-9).all()
    for n, c in clips("single_object_changing_color_then_returning_to_previous_one"):
        col = _colors(c, 0)
        dist = np.linalg.norm(col - col[0], axis=1)
        assert np.allclose(col[-1], col[0]) and dist.max() > 0.4
        assert (dist >= dist.max() - 1e-9).sum() >= 0.1 * n, "holds the other colour for a while"


def _shape_runs(c, i):
    seq = [fr[i].shape for fr in c.frames if i in fr]
    return [s for k, s in enumerate(seq) if k == 0 or seq[k - 1] != s]


@pytest.mark.parametrize("target", ["pyramid", "cube", "sphere", "cylinder"])
def test_changes_into_named_shape(target):
    slug = f"single_object_of_other_shape_changes_into_{target}"
    for n, c in clips(slug):
        runs = _shape_runs(c, 0)
        assert len(runs) == 2 and runs[0] != target and runs[1] == target
        assert np.ptp(pos(c, 0)[:, :2], axis=0).max() < 1e-9 and np.ptp(size(c, 0)) < 1e-9
    other_set = 2 if MINE[slug].set == 1 else 1
    with pytest.raises(TabenchError):
        all_motions()[slug](np.random.default_rng(0), MotionContext(other_set, SET_SHAPES[other_set], 60))


def test_changing_shape_switch_and_return():
    for n, c in clips("two_objects_changing_shapes_by_switching_with_each_other"):
        r0, r1 = _shape_runs(c, 0), _shape_runs(c, 1)
        assert len(r0) == 2 and r0 == r1[::-1] and r0[0] != r0[1]
        swap0 = [k for k in range(1, n) if c.frames[k][0].shape != c.frames[k - 1][0].shape]
        swap1 = [k for k in range(1, n) if c.frames[k][1].shape != c.frames[k - 1][1].shape]
        assert swap0 == swap1, "they switch at the same moment"
    for n, c in clips("single_object_changing_into_another_shape_then_turning_back_to_original_shape"):
        runs = _shape_runs(c, 0)
        assert len(runs) == 3 and runs[0] == runs[2] != runs[1]


# ----- cloning --------------------------------------------------------------------------------------------
def _births(c):
    return {i: next(k for k, fr in enumerate(c.frames) if i in fr) for i in c.object_ids()}


def _clone_checks(c, same_colour=True):
    """Clones are born on top of an existing object, identical to it; at the end all are apart."""
    births = _births(c)
    assert births[0] == 0 and len(c.frames[0]) == 1
    for i, b in births.items():
        if i == 0:
            continue
        new, parent = c.frames[b][i], c.frames[b][0]
        assert any(np.allclose(new.position, c.frames[b][j].position) for j in c.frames[b] if j != i)
        assert (new.shape, new.size, new.rotation) == (parent.shape, parent.size, parent.rotation)
        assert np.allclose(new.color, parent.color)
    last = c.frames[-1]
    assert not _overlaps(c, len(c.frames) - 1) and len(last) == len(births)
    if same_colour:
        assert all(np.allclose(s.color, last[0].color) for s in last.values())
    return births


def test_cloning_two():
    for n, c in clips("single_object_cloning_into_two_identical_objects_both_going_in_same_direction"):
        births = _clone_checks(c)
        assert len(births) == 2
        a, b = int(0.55 * n), n - 1
        d0, d1 = pos(c, 0)[b] - pos(c, 0)[a], pos(c, 1)[b] - pos(c, 1)[a]
        assert np.linalg.norm(d0) > 0.5 and np.allclose(d0, d1), "both move the same way"
    for n, c in clips("single_object_cloning_into_two_identical_objects_both_going_in_different_directions"):
        births = _clone_checks(c)
        assert len(births) == 2
        b = births[1]
        d0, d1 = pos(c, 0)[-1] - pos(c, 0)[b], pos(c, 1)[-1] - pos(c, 1)[b]
        cos = d0 @ d1 / np.linalg.norm(d0) / np.linalg.norm(d1)
        assert min(np.linalg.norm(d0), np.linalg.norm(d1)) > 1.5 and cos < -0.4
    for n, c in clips("single_object_cloning_into_one_identical_object_and_another_object_with_different_colour"):
        births = _clone_checks(c, same_colour=False)  # as in the paper's script: three objects at the end
        assert len(births) == 3 and births[1] < births[2], "the identical clone first, then the other"
        col0, col1, col2 = _colors(c, 0), _colors(c, 1), _colors(c, 2)
        assert np.ptp(col0, axis=0).max() < 1e-9, "the original keeps its colour"
        assert np.ptp(col1[births[1]:], axis=0).max() < 1e-9, "one identical clone"
        assert np.linalg.norm(col2[-1] - col0[-1]) > 0.4, "and one of another colour"
        p = [pos(c, i)[-1, :2] - pos(c, 0)[-1, :2] for i in (1, 2)]
        assert p[0] @ p[1] < 0, "on either side of the original"


def test_cloning_many():
    for n, c in clips("single_object_cloning_into_multiple_identical_objects_one_by_one"):
        births = sorted(_clone_checks(c).values())
        assert len(births) >= 4
        assert min(np.diff(births[1:])) >= 0.1 * n, "clones appear at clearly different times"
        counts = [len(fr) for fr in c.frames]
        assert (np.diff(counts) >= 0).all() and (np.diff(counts) <= 1).all()
    for n, c in clips("single_object_cloning_into_multiple_identical_objects_at_once"):
        births = _clone_checks(c)
        assert len(births) >= 4 and len({b for i, b in births.items() if i}) == 1
        counts = [len(fr) for fr in c.frames]
        assert sorted(set(counts)) == [1, len(births)]


# ----- expanding ------------------------------------------------------------------------------------------
def _grows(c, i):
    s = size(c, i)
    return (np.diff(s) >= -1e-12).all() and np.allclose(pos(c, i)[:, 2], s) and np.ptp(pos(c, i)[:, :2], 0).max() < 1e-9


def test_expanding():
    for n, c in clips("small_single_object_expanding_into_medium_object"):
        s = size(c, 0)
        assert _grows(c, 0) and s[0] <= 0.32 and 1.6 <= s[-1] / s[0] <= 2.4
    for n, c in clips("small_single_object_expanding_into_large_object"):
        s = size(c, 0)
        assert _grows(c, 0) and s[0] <= 0.3 and s[-1] / s[0] >= 2.8 and s[-1] >= 0.65
    for n, c in clips("two_different_small_objects_expanding_into_similar_larger_size"):
        s0, s1 = size(c, 0), size(c, 1)
        assert _grows(c, 0) and _grows(c, 1) and c.frames[0][0].shape != c.frames[0][1].shape
        assert abs(s0[-1] - s1[-1]) <= 0.05 * s0[-1] and min(s0[-1] / s0[0], s1[-1] / s1[0]) >= 1.6
    for n, c in clips("two_same_small_objects_expanding_into_different_bigger_sizes"):
        a, b = c.frames[0][0], c.frames[0][1]
        assert (a.shape, a.size, a.color) == (b.shape, b.size, b.color)
        s0, s1 = size(c, 0), size(c, 1)
        assert _grows(c, 0) and _grows(c, 1) and min(s0[-1], s1[-1]) / a.size >= 1.6
        assert max(s0[-1], s1[-1]) / min(s0[-1], s1[-1]) >= 1.3


# ----- falling --------------------------------------------------------------------------------------------
def _falls(c, n):
    z, s = pos(c, 0)[:, 2], size(c, 0)[0]
    return (np.diff(z) <= 1e-12).all() and z[0] - z[-1] >= 2.0 and abs(z[-1] - s) < 1e-9


def test_falling_straight_down():
    for n, c in clips("single_object_falling_straight_down_without_changing_direction"):
        assert _falls(c, n) and np.ptp(pos(c, 0)[:, :2], axis=0).max() < 1e-9


def test_falling_at_an_angle():
    for n, c in clips("single_object_falling_at_an_angle"):
        p = pos(c, 0)
        assert _falls(c, n)
        horiz = np.linalg.norm(p[-1, :2] - p[0, :2])
        assert horiz >= 1.5, "clearly slanted"
        fit = np.polyfit(p[:, 2], p[:, :2], 1)  # x and y are linear in height: a straight line
        resid = p[:, :2] - (np.outer(p[:, 2], fit[0]) + fit[1])
        assert np.abs(resid).max() < 1e-6


def test_falling_curved():
    for n, c in clips("single_object_falling_at_a_curved_path"):
        p = pos(c, 0)
        assert _falls(c, n) and reversals(p[:, 0]) == 0 and abs(p[-1, 0] - p[0, 0]) >= 2.0
        chord = (p[-1, [0, 2]] - p[0, [0, 2]]) / np.linalg.norm(p[-1, [0, 2]] - p[0, [0, 2]])
        rel = p[:, [0, 2]] - p[0, [0, 2]]
        bend = np.abs(rel[:, 0] * chord[1] - rel[:, 1] * chord[0]).max()
        assert bend >= 0.3, "the path bends away from the straight line"


def test_falling_zigzag():
    for n, c in clips("single_object_falling_down_in_a_zigzag_pattern"):
        p = pos(c, 0)
        assert _falls(c, n) and reversals(p[:, 0]) >= 3 and np.ptp(p[:, 0]) >= 1.5


# ----- following (10) -------------------------------------------------------------------------------------
def _queue_order(clip):
    """Ids sorted from the front of a single-file queue (furthest along the motion) to its back."""
    d = np.mean([pos(clip, i)[-1] - pos(clip, i)[0] for i in ids(clip)], axis=0)
    return sorted(ids(clip), key=lambda i: -pos(clip, i)[0] @ d), d


@pytest.mark.parametrize("slug,n", [
    ("single_object_following_another_object_all_the_time_while_moving_in_a_straight_line", (2, 2)),
    ("multiple_objects_following_one_object_all_the_time_in_a_straight_line", (3, 4)),
])
def test_following_in_a_straight_line(slug, n):
    for clip in each_clip(slug):
        order, d = _queue_order(clip)
        assert n[0] <= len(order) <= n[1]
        assert collinear_error(np.vstack([pos(clip, i)[:, :2] for i in order])) < 1e-6  # one straight line
        for ahead, behind in zip(order, order[1:]):
            gap = np.linalg.norm(pos(clip, ahead) - pos(clip, behind), axis=1)
            assert np.ptp(gap) < 1e-9  # keeps the same distance all the time
            assert np.all((pos(clip, ahead) - pos(clip, behind)) @ d > 0)  # and stays behind
        assert np.linalg.norm(pos(clip, order[0])[-1] - pos(clip, order[0])[0]) > 1.7
        assert moving_steps(pos(clip, order[0])).mean() > 0.75  # moving nearly all the time


def _straight_and_other(clip):
    straight = [i for i in ids(clip) if collinear_error(pos(clip, i)) < 1e-6]
    assert len(straight) == 1
    return straight[0], [i for i in ids(clip) if i != straight[0]][0]


def test_following_for_some_time_then_another_path():
    for clip in each_clip("single_object_following_another_object_for_some_time_while_moving_in_straight_line_then_follows_another_path"):
        lead, fol = _straight_and_other(clip)
        vl, vf = steps(pos(clip, lead)), steps(pos(clip, fol))
        both = np.flatnonzero(moving_steps(pos(clip, lead)) & moving_steps(pos(clip, fol)))
        early, late = both[: len(both) // 4], both[-len(both) // 5:]
        assert np.all(cosines(vl[early], vf[early]) > 0.999)  # same straight line at first ...
        assert np.all((pos(clip, lead)[early] - pos(clip, fol)[early]) @ vl[early][0] > 0)  # ... behind it
        assert np.all(cosines(vl[late], vf[late]) < 0.5)  # then a path of its own (turned >= 60 degrees)
        sep = np.linalg.norm(pos(clip, lead) - pos(clip, fol), axis=1)
        assert sep[-1] > sep[0] + 1.0


def test_following_in_a_complex_path():
    for clip in each_clip("single_object_following_another_object_all_the_time_in_a_complex_path"):
        a, b = ids(clip)
        on = {}
        for x, y in ((a, b), (b, a)):
            # y follows x if, once y reaches where x started, it stays on x's track to the end
            px, py = pos(clip, x)[:, :2], pos(clip, y)[:, :2]  # on the ground (heights differ with size)
            d = dist_to_polyline(py, px)
            to_start = np.linalg.norm(py - px[0], axis=1)
            k = int(np.argmin(to_start))
            step = np.linalg.norm(steps(py), axis=1).max()
            on[(x, y)] = to_start[k] <= step and d[k + 1:].max() < 0.06 and k < 0.75 * clip.num_frames
        assert sum(on.values()) == 1  # exactly one object travels on the other's track
        lead, fol = (a, b) if on[(a, b)] else (b, a)
        p = pos(clip, lead)
        v = steps(p)[moving_steps(p)][:, :2]
        heading = np.unwrap(np.arctan2(v[:, 1], v[:, 0]))
        turns = np.diff(heading)
        assert np.abs(turns).sum() > np.radians(90)  # a curvy path, not a line
        assert turns[turns > 0].sum() > 0.5 and turns[turns < 0].sum() < -0.5  # bending both ways
        assert moving_steps(pos(clip, fol)).mean() > 0.8  # following all the time


def test_not_following_at_first_then_following():
    for clip in each_clip("single_object_not_following_another_object_at_first_but_later_starts_following"):
        lead, fol = _straight_and_other(clip)
        n = clip.num_frames
        vl, vf = steps(pos(clip, lead)), steps(pos(clip, fol))
        early = np.arange(int(0.08 * n), int(0.25 * n))
        late = np.arange(int(0.76 * n), int(0.92 * n))
        assert np.all(cosines(vl[early], vf[early]) < -0.3)  # going its own way (against the leader) at first
        assert np.all(cosines(vl[late], vf[late]) > 0.999)  # later on the leader's line ...
        gap = pos(clip, lead)[late] - pos(clip, fol)[late]
        assert np.ptp(np.linalg.norm(gap, axis=1)) < 1e-6 and np.all(np.sum(gap * vl[late], axis=1) > 0)  # behind


# ----- merging (11) ---------------------------------------------------------------------------------------
def _merge_counts(clip, start, end):
    c = count(clip)
    assert np.all(np.diff(c) <= 0) and c.min() >= 1  # objects only ever go away, one merged object appears
    assert (c[0], c[-1]) in [(s, e) for s in start for e in end]
    last = [i for i in ids(clip) if i in clip.frames[-1]]
    first = list(clip.frames[0])
    assert not set(first) & set(last)  # the survivors are new objects
    return first, last


def test_two_objects_merging_head_on():
    for clip in each_clip("two_objects_merging_into_one_similar_sized_object_while_moving_towards_each_other"):
        (a, b), (m,) = _merge_counts(clip, [2], [1])
        both = np.flatnonzero(visible(clip, a) & visible(clip, b))
        va, vb = steps(pos(clip, a)[both]), steps(pos(clip, b)[both])
        mv = moving_steps(pos(clip, a)[both])
        assert np.all(cosines(va[mv], vb[mv]) < -0.999)  # towards each other
        gap = np.linalg.norm(pos(clip, a)[both] - pos(clip, b)[both], axis=1)
        assert gap[-1] < 0.1 * gap[0]
        assert 0.9 <= sizes_of(clip, m)[-1] / np.mean([sizes_of(clip, a)[0], sizes_of(clip, b)[0]]) <= 1.2  # similar size


def test_multiple_objects_merging_into_one_big_object():
    for clip in each_clip("multiple_objects_merging_into_one_big_object"):
        parts, (m,) = _merge_counts(clip, [3, 4], [1])
        assert sizes_of(clip, m)[-1] >= 1.4 * max(sizes_of(clip, i)[0] for i in parts)


def test_faster_object_merging_with_slower_one():
    for clip in each_clip("faster_object_merging_with_slower_object_into_one_similar_sized_object_while_moving_in_same_direction"):
        (a, b), (m,) = _merge_counts(clip, [2], [1])
        both = np.flatnonzero(visible(clip, a) & visible(clip, b))
        va, vb = steps(pos(clip, a)[both]), steps(pos(clip, b)[both])
        mv = moving_steps(pos(clip, a)[both])
        assert np.all(cosines(va[mv], vb[mv]) > 0.999)  # same direction
        speed_a, speed_b = np.linalg.norm(va[mv], axis=1).mean(), np.linalg.norm(vb[mv], axis=1).mean()
        fast, slow = (a, b) if speed_a > speed_b else (b, a)
        assert max(speed_a, speed_b) > 1.8 * min(speed_a, speed_b)
        ahead = (pos(clip, slow)[both[0]] - pos(clip, fast)[both[0]]) @ va[mv][0]
        assert ahead > 0  # the slow one is in front and gets caught
        assert 0.9 <= sizes_of(clip, m)[-1] / np.mean([sizes_of(clip, a)[0], sizes_of(clip, b)[0]]) <= 1.2


def test_multiple_objects_merging_into_multiple_big_objects():
    for clip in each_clip("multiple_objects_merging_into_multiple_big_objects"):
        parts, bigs = _merge_counts(clip, [4, 5, 6], [2])
        assert min(sizes_of(clip, i)[-1] for i in bigs) > max(sizes_of(clip, i)[0] for i in parts)


# ----- moving in a path (12) ------------------------------------------------------------------------------
def _peak_speed(clip, i) -> float:
    return float(np.linalg.norm(steps(pos(clip, i)), axis=1).max() * FPS)


def _one_mover(clip):
    (i,) = ids(clip)
    p = pos(clip, i)
    return i, p, moving_steps(p)


def test_moving_slowly_and_stopping_vs_quickly():
    slow_slug = "single_object_moving_slowly_from_one_position_to_another_and_stopping"
    quick_slug = "single_object_moving_quickly_from_one_position_to_another_and_stopping"
    for n in FRAMES:
        for slug, quick in ((slow_slug, False), (quick_slug, True)):
            for seed in SEEDS:
                clip = _clip(slug, seed, n)
                _, p, mv = _one_mover(clip)
                assert np.linalg.norm(p[-1] - p[0]) > (3.4 if quick else 2.4)
                assert collinear_error(p) < 1e-6
                rest_at_end = len(mv) - 1 - np.flatnonzero(mv).max()
                if quick:
                    assert mv.mean() <= 0.25 and rest_at_end >= 0.25 * n
                else:
                    assert mv.mean() >= 0.45 and rest_at_end >= 0.1 * n
        slowest_quick = min(_peak_speed(_clip(quick_slug, s, n), 0) for s in SEEDS)
        fastest_slow = max(_peak_speed(_clip(slow_slug, s, n), 0) for s in SEEDS)
        assert slowest_quick > 2 * fastest_slow


def test_moving_slowly_and_coming_back():
    for clip in each_clip("single_object_moving_slowly_from_one_position_to_another_and_coming_back_to_original_position"):
        _, p, mv = _one_mover(clip)
        far = np.linalg.norm(p - p[0], axis=1)
        assert np.allclose(p[-1], p[0]) and far.max() > 2.4
        k = int(np.argmax(far))
        assert np.all(np.diff(far[: k + 1]) >= -1e-12) and np.all(np.diff(far[k:]) <= 1e-12)  # out, then back
        assert mv.mean() >= 0.45


@pytest.mark.parametrize("slug,sign", [("single_object_moving_from_left_to_right", 1),
                                       ("single_object_moving_from_right_to_left", -1)])
def test_moving_left_right(slug, sign):
    for clip in each_clip(slug):
        _, p, _ = _one_mover(clip)
        assert np.all(sign * np.diff(p[:, 0]) >= 0) and sign * (p[-1, 0] - p[0, 0]) > 4.5
        assert np.ptp(p[:, 1]) < 1e-9


def test_two_objects_switching_positions():
    for clip in each_clip("two_objects_moving_and_switching_their_positions"):
        a, b = ids(clip)
        assert np.allclose(pos(clip, a)[-1, :2], pos(clip, b)[0, :2], atol=1e-6)
        assert np.allclose(pos(clip, b)[-1, :2], pos(clip, a)[0, :2], atol=1e-6)
        assert np.linalg.norm(pos(clip, a)[0] - pos(clip, b)[0]) > 2.4


# ----- not colliding (13) ---------------------------------------------------------------------------------
MISS = 1.0  # the paper's 4 units: objects stop at least this far apart (surface to surface, per-shape reach)


def surface_gap(clip, i, j) -> float:
    """Smallest centre distance minus both ground reaches (motions._layout.reach) over the clip."""
    from tabench.synth.motions._layout import reach

    best = np.inf
    for f in clip.frames:
        if i in f and j in f:
            d = np.linalg.norm(np.subtract(f[i].position, f[j].position))
            best = min(best, d - reach(f[i].shape) * f[i].size - reach(f[j].shape) * f[j].size)
    return best


def _stops(p) -> bool:
    """Moves, then stands still for the last frames (the stop is seen)."""
    mv = moving_steps(p)
    return mv.any() and not mv[-3:].any()


def test_two_objects_towards_each_other_not_colliding():
    for clip in each_clip("two_objects_moving_towards_each_other_but_not_colliding"):
        a, b = ids(clip)
        va, vb = steps(pos(clip, a)), steps(pos(clip, b))
        mv = np.flatnonzero(moving_steps(pos(clip, a)))[:5]
        assert np.all(cosines(va[mv], vb[mv]) < -0.999)  # heading for each other
        d = np.linalg.norm(pos(clip, a) - pos(clip, b), axis=1)
        assert d[-1] < 0.6 * d[0] and np.all(np.diff(d) <= 1e-9)  # closing in all the time ...
        assert surface_gap(clip, a, b) >= 0.95 * MISS and _stops(pos(clip, a))  # ... and stopping short


def test_one_object_towards_a_stationary_one_not_colliding():
    for clip in each_clip("single_object_moving_towards_single_stationary_object_but_not_colliding_with_it"):
        (s,), (m,) = static_and_moving(clip)
        p, target = pos(clip, m), pos(clip, s)[0]
        v = steps(p)
        first = np.flatnonzero(moving_steps(p))[:3]
        assert np.all(cosines(v[first], np.tile(target - p[0], (len(first), 1))) > 0.99)  # heads straight at it
        assert surface_gap(clip, s, m) >= 0.95 * MISS and _stops(p)
        assert (target - p[-1]) @ v[first[0]] > 0  # and stops before it


def test_multiple_objects_towards_each_other_not_colliding():
    for clip in each_clip("multiple_objects_moving_towards_each_other_but_not_colliding_among_themselves"):
        obj = ids(clip)
        assert len(obj) >= 3
        mean_d = np.mean([np.linalg.norm(pos(clip, i) - pos(clip, j), axis=1)
                          for i, j in itertools.combinations(obj, 2)], axis=0)
        assert mean_d.min() < 0.75 * mean_d[0]  # they close in on each other
        assert min(surface_gap(clip, i, j) for i, j in itertools.combinations(obj, 2)) >= 0.95 * MISS
        assert all(_stops(pos(clip, i)) for i in obj)


def test_two_objects_opposite_directions_in_a_circle_not_colliding():
    for clip in each_clip("two_objects_moving_in_opposite_directions_in_circular_path_but_not_colliding_later"):
        a, b = ids(clip)
        c = fit_circle(np.vstack([pos(clip, a), pos(clip, b)]))
        ang = {i: signed_angle(pos(clip, i), c) for i in (a, b)}
        ccw, cw = (a, b) if ang[a][-1] > ang[a][0] else (b, a)
        # opposite ways round half the circle each (a quarter from its ends made a short curve on screen) ...
        assert ang[ccw][-1] - ang[ccw][0] > 1.5 and np.all(np.diff(ang[ccw]) >= 0)
        assert ang[cw][-1] - ang[cw][0] < -1.5 and np.all(np.diff(ang[cw]) <= 0)
        start = np.linalg.norm(pos(clip, a)[0, :2] - pos(clip, b)[0, :2])
        end = np.linalg.norm(pos(clip, a)[-1, :2] - pos(clip, b)[-1, :2])
        assert start < 3.0 and end < 3.0  # ... from side by side to side by side, a clear gap apart
        radius = [np.linalg.norm(pos(clip, i)[:, :2] - c, axis=1) for i in (a, b)]
        assert min(r.min() for r in radius) > 1.5 and max(np.ptp(r) for r in radius) < 1e-6  # on one circle
        assert surface_gap(clip, a, b) >= 0.95 * MISS


def test_one_object_towards_multiple_stationary_not_colliding():
    for clip in each_clip("one_object_moving_towards_multiple_stationary_objects_but_not_colliding"):
        stat, (m,) = static_and_moving(clip)
        assert len(stat) >= 2
        p = pos(clip, m)
        centroid = np.mean([pos(clip, s)[0] for s in stat], axis=0)
        v0 = steps(p)[np.flatnonzero(moving_steps(p))[0]]
        assert cosines(v0[None], (centroid - p[0])[None])[0] > 0.85
        assert _stops(p)
        for s in stat:
            assert (pos(clip, s)[0] - p[-1]) @ v0 > 0  # stops before every one of them
            assert surface_gap(clip, s, m) >= 0.95 * MISS
        assert min(surface_gap(clip, i, j) for i, j in itertools.combinations(stat, 2)) >= 0.95 * MISS


# ----- occlusion (14) -------------------------------------------------------------------------------------
def seen_clips(slug: str):
    """Clips of an occlusion class drawn for each camera (their layout is checked against the video's own
    camera), with that camera."""
    f = TAX.by_slug(slug)
    for cam in CAMERAS:
        for seed in (0, 1):
            for n in (60, 105):
                ctx = MotionContext(f.set, SET_SHAPES[f.set], n, camera=cam)
                yield cam, all_motions()[slug](np.random.default_rng(seed), ctx)


def _come_in_front(slug, mover_big: bool):
    for cam, clip in seen_clips(slug):
        (s,), (m,) = static_and_moving(clip)
        first, last = clip.frames[0], clip.frames[-1]
        assert (sizes_of(clip, m)[0] > 1.8 * sizes_of(clip, s)[0]) if mover_big else (sizes_of(clip, s)[0] > 1.8 * sizes_of(clip, m)[0])
        assert pos(clip, m)[-1, 1] < pos(clip, s)[-1, 1]  # ends nearer the camera
        c1, r1, _ = screen(cam, first[m])
        c2, r2, _ = screen(cam, first[s])
        assert np.linalg.norm(c1 - c2) > r1 + r2  # apart on screen at first
        share = hidden(cam, last[m], last[s])
        if mover_big:
            assert share >= 0.6, share  # mostly or fully hidden
        else:
            assert 0.0 < share <= 0.35, share  # only a sliver


def test_small_object_in_front_of_big_barely_occluding():
    _come_in_front("small_object_coming_in_front_of_big_object_barely_occluding_it", mover_big=False)


def test_big_object_in_front_of_small_mostly_occluding():
    _come_in_front("big_object_coming_in_front_of_small_object_mostly_or_fully_occluding_it", mover_big=True)


def _swapping_pairs(cam, clip, pairs):
    first, last = clip.frames[0], clip.frames[-1]
    for a, b in pairs:
        front, back = (a, b) if first[a].position[1] < first[b].position[1] else (b, a)
        assert last[front].position[1] > last[back].position[1]  # depth order swapped
        assert np.allclose(last[front].position[:2], first[back].position[:2], atol=1e-6)  # they trade places
        assert hidden(cam, first[front], first[back]) > 0.05  # it occludes the other at first ...
        assert hidden(cam, last[back], last[front]) > 0.05  # ... and is occluded by it at the end
        assert hidden(cam, first[front], first[back]) < 0.98 or len(pairs) == 1
        # they swap by parting sideways and passing side by side (on a circle they moved half their distance)
        start = np.linalg.norm(np.subtract(first[front].position[:2], first[back].position[:2]))
        side_by_side = max(abs(f[front].position[0] - f[back].position[0]) for f in clip.frames)
        assert side_by_side > 1.35 * start


def test_occluding_object_switches_places_and_goes_behind():
    for cam, clip in seen_clips("object_which_is_occluding_another_object_switches_places_and_goes_behind_it"):
        _swapping_pairs(cam, clip, [tuple(ids(clip))])


def test_two_objects_partially_occluding_two_others_switch_and_go_behind():
    for cam, clip in seen_clips("two_objects_partially_occluding_two_other_objects_switch_positions_with_the_latter_two_and_go_behind_them"):
        obj = ids(clip)
        assert len(obj) == 4
        first = clip.frames[0]
        nearest = {i: min((j for j in obj if j != i),
                          key=lambda j: np.linalg.norm(np.subtract(first[i].position, first[j].position)))
                   for i in obj}
        pairs = {tuple(sorted((i, nearest[i]))) for i in obj}
        assert len(pairs) == 2
        _swapping_pairs(cam, clip, sorted(pairs))


# ----- orbiting (15) --------------------------------------------------------------------------------------
def _orbit(clip, plane):
    (c,), (o,) = static_and_moving(clip)
    center, p = pos(clip, c)[0], pos(clip, o)
    axes = (0, 1) if plane == "horizontal" else (0, 2)
    other = 2 if plane == "horizontal" else 1
    assert np.ptp(p[:, other]) < 1e-9  # stays in its plane
    r = np.linalg.norm(p[:, axes] - center[list(axes)], axis=1)
    assert np.ptp(r) < 1e-6 and r[0] > sizes_of(clip, c)[0] + sizes_of(clip, o)[0]  # constant distance, around it
    if plane == "vertical":
        assert abs(p[0, 1] - center[1]) < 1e-9  # the circle passes through the centre object
    return signed_angle(p, center, axes)


@pytest.mark.parametrize("slug,plane,sense", [
    ("single_object_orbiting_another_object_in_the_center_in_clockwise_direction_on_horizontal_plane", "horizontal", -1),
    ("single_object_orbiting_another_object_in_the_center_in_counter_clockwise_direction_on_horizontal_plane", "horizontal", 1),
    ("single_object_orbiting_another_object_in_the_center_in_clockwise_direction_on_vertical_plane", "vertical", -1),
    ("single_object_orbiting_another_object_in_the_center_in_counter_clockwise_direction_on_vertical_plane", "vertical", 1),
])
def test_orbiting(slug, plane, sense):
    for clip in each_clip(slug):
        ang = _orbit(clip, plane)
        assert np.all(sense * np.diff(ang) >= 0)
        assert sense * (ang[-1] - ang[0]) >= 2 * np.pi * 0.99  # at least a full turn


def test_orbiting_clockwise_then_counter_clockwise():
    for clip in each_clip("single_object_orbiting_another_object_in_the_center_in_clockwise_direction_first_and_then_counter_clockwise_direction_on_horizontal_plane"):
        ang = _orbit(clip, "horizontal")
        k = int(np.argmin(ang))
        assert 0.3 < k / clip.num_frames < 0.7
        assert np.all(np.diff(ang[: k + 1]) <= 0) and ang[0] - ang[k] > 1.1 * np.pi  # clockwise first
        assert np.all(np.diff(ang[k:]) >= 0) and ang[-1] - ang[k] > 1.1 * np.pi  # then counter-clockwise


def test_orbiting_then_being_orbited():
    for clip in each_clip("single_object_orbiting_another_object_in_clockwise_direction_then_second_object_orbiting_first_object_in_clockwise_direction_on_horizontal_plane"):
        a, b = ids(clip)
        mv = {i: moving_steps(pos(clip, i)) for i in (a, b)}
        assert not np.any(mv[a] & mv[b])  # never both at once
        first, second = (a, b) if np.flatnonzero(mv[a])[0] < np.flatnonzero(mv[b])[0] else (b, a)
        k = np.flatnonzero(mv[first])[-1] + 1  # the first orbit is over
        assert np.flatnonzero(mv[second])[0] >= k
        ang1 = signed_angle(pos(clip, first)[: k + 1], pos(clip, second)[0])
        ang2 = signed_angle(pos(clip, second)[k:], pos(clip, first)[k])
        for ang in (ang1, ang2):  # each circles the other clockwise (seen from above)
            assert np.all(np.diff(ang) <= 0) and ang[0] - ang[-1] > 1.45 * np.pi


# ----- rising (16) ----------------------------------------------------------------------------------------
def _rise(clip):
    (i,) = ids(clip)
    p = pos(clip, i)
    assert np.all(np.diff(p[:, 2]) >= 0)  # never goes down
    assert abs(p[0, 2] - sizes_of(clip, i)[0]) < 1e-9 and p[-1, 2] - p[0, 2] > 2.0  # from the ground, well up
    return p


def test_rising_straight_up():
    for clip in each_clip("single_object_rising_straight_up_without_changing_direction"):
        p = _rise(clip)
        assert np.ptp(p[:, 0]) < 1e-9 and np.ptp(p[:, 1]) < 1e-9


def test_rising_in_a_zigzag():
    for clip in each_clip("single_object_rising_in_a_zigzag_pattern"):
        p = _rise(clip)
        side = p[:, :2] - p[0, :2]
        u, _, _ = np.linalg.svd(side.T @ side)
        lateral = np.diff(side @ u[:, 0])
        signs = np.sign(lateral[np.abs(lateral) > 1e-9])
        assert np.count_nonzero(np.diff(signs)) >= 3  # sideways direction reverses several times
        assert np.ptp(side @ u[:, 0]) > 1.2


def test_rising_at_an_angle():
    for clip in each_clip("single_object_rising_at_an_angle"):
        p = _rise(clip)
        assert collinear_error(p) < 1e-6  # a straight slanted line
        assert np.linalg.norm(p[-1, :2] - p[0, :2]) > 1.4


def test_rising_on_a_curved_path():
    for clip in each_clip("single_object_rising_at_a_curved_path"):
        p = _rise(clip)
        side = p[:, :2] - p[0, :2]
        dist = np.linalg.norm(side, axis=1)
        assert dist[-1] > 1.5 and np.all(np.diff(dist) >= -1e-9)  # keeps bending one way, no zigzag
        chord = (p[-1] - p[0]) / np.linalg.norm(p[-1] - p[0])
        rel = p - p[0]
        assert np.linalg.norm(rel - np.outer(rel @ chord, chord), axis=1).max() > 0.4  # clearly not a straight line


# ----- shooting projectile (17) ---------------------------------------------------------------------------
def _flight(clip, i):
    """Checks a ballistic arc: z is a parabola in time while flying, peaking well above both ends, and the
    projectile lands (rests on the ground) at the end. Returns (start xy, end xy, launch frame)."""
    p = pos(clip, i)
    vis = ~np.isnan(p[:, 0])
    p = p[vis]
    up = np.flatnonzero(np.abs(np.diff(p[:, 2])) > 1e-9)  # in the air (a second projectile rolls before)
    fly = p[up[0]: up[-1] + 2]
    assert fly[:, 2].max() > max(fly[0, 2], fly[-1, 2]) + 0.5
    interior = fly[2:-2, 2]
    if len(interior) > 3:
        acc = np.diff(interior, 2)
        assert np.ptp(acc) < 1e-6 and acc.max() < 0  # constant downward acceleration
    assert abs(p[-1, 2] - sizes_of(clip, i)[-1]) < 1e-9  # landed
    return fly[0, :2], p[-1, :2], np.flatnonzero(vis)[0] + up[0]


@pytest.mark.parametrize("slug,kind", [
    ("shooting_projectile_from_one_corner_to_opposite_corner", "diagonal"),
    ("shooting_projectile_from_right_corner_to_left_corner", "right_to_left"),
    ("shooting_projectile_from_left_corner_to_right_corner", "left_to_right"),
])
def test_shooting_one_projectile(slug, kind):
    for clip in each_clip(slug):
        (shot,) = ids(clip)  # no launcher or any other object
        start, end, _ = _flight(clip, shot)
        assert np.linalg.norm(pos(clip, shot)[0, :2] - start) < 1e-9  # rests where it is shot from
        # no camera in the context: the front view's axes (right +x, forward +y); see test_synth_visibility
        # for the on-screen direction from the videos' own cameras
        if kind == "diagonal":
            assert abs(end[0] - start[0]) > 2.2 and abs(end[1] - start[1]) > 3.6  # across and into depth
        else:
            sign = 1 if kind == "left_to_right" else -1
            assert sign * start[0] < -2.0 and sign * end[0] > 2.0 and abs(end[1] - start[1]) < 1e-9


def test_shooting_two_projectiles_from_same_position():
    for clip in each_clip("shooting_two_projectiles_from_same_position_to_opposite_corner"):
        shots = ids(clip)
        assert len(shots) == 2  # no launcher
        flights = [_flight(clip, i) for i in shots]
        (s1, e1, t1), (s2, e2, t2) = flights
        assert np.allclose(s1, s2) and t1 != t2  # same place, one after the other
        assert abs(e1[0] - s1[0]) > 1.9 and abs(e1[1] - s1[1]) > 3.1  # to the opposite corner ...
        assert np.linalg.norm(e1 - e2) < 1.8  # ... and the second lands beside the first


def test_shooting_two_projectiles_switching_corners():
    for clip in each_clip("shooting_two_projectiles_from_opposite_corners_switching_their_positions"):
        a, b = ids(clip)
        (sa, ea, ta), (sb, eb, tb) = _flight(clip, a), _flight(clip, b)
        assert np.allclose(ea, sb) and np.allclose(eb, sa)  # switched
        assert abs(sa[0] - sb[0]) > 2.2 and abs(sa[1] - sb[1]) > 3.6  # opposite corners
        assert abs(ta - tb) <= 1


# ----- shrinking (18) -------------------------------------------------------------------------------------
def _shrink(clip):
    out = []
    for i in ids(clip):
        s, p = sizes_of(clip, i), pos(clip, i)
        assert np.all(np.diff(s) <= 1e-12) and s[0] >= 0.8  # large, and only getting smaller
        assert np.allclose(p[:, 2], s)  # resting on the ground
        out.append((s[0], s[-1]))
    return out


def test_shrinking_single():
    for clip in each_clip("large_single_object_shrinking_into_medium_sized_object"):
        ((s0, s1),) = _shrink(clip)
        assert 0.45 <= s1 / s0 <= 0.7
    for clip in each_clip("large_single_object_shrinking_into_very_small_object"):
        ((s0, s1),) = _shrink(clip)
        assert s1 / s0 <= 0.25


def test_shrinking_two_objects():
    for clip in each_clip("two_different_large_objects_shrinking_into_same_smaller_size"):
        (a0, a1), (b0, b1) = _shrink(clip)
        assert abs(a0 - b0) >= 0.05 and abs(a1 - b1) < 1e-9 and a1 < 0.65 * min(a0, b0)
        shapes = {st.shape for st in clip.frames[0].values()}
        assert len(shapes) == 2  # two different objects
    for clip in each_clip("two_different_large_objects_shrinking_into_different_smaller_sizes"):
        (a0, a1), (b0, b1) = _shrink(clip)
        assert abs(a1 - b1) >= 0.15 and max(a1 / a0, b1 / b0) < 0.75


# ----- teleporting (19) -----------------------------------------------------------------------------------
def _jumps(clip, i):
    """(from xy, to xy) for every change of position; each must happen across frames where the object is
    invisible (absent or opacity 0), never between two visible frames."""
    p, vis = pos(clip, i), visible(clip, i)
    frames = np.flatnonzero(vis)
    out = []
    for f0, f1 in zip(frames, frames[1:]):
        if not np.allclose(p[f0], p[f1]):
            assert f1 - f0 > 1, "moved while visible"
            out.append((p[f0, :2], p[f1, :2]))
    return out


def _at_corner(xy) -> bool:
    return abs(xy[0]) > 2.2 and (xy[1] < -1.4 or xy[1] > 1.9)


def test_teleporting_single_object_between_corners():
    for clip in each_clip("single_object_teleporting_from_one_corner_to_another"):
        (i,) = ids(clip)
        ((a, b),) = _jumps(clip, i)
        assert _at_corner(a) and _at_corner(b) and np.linalg.norm(a - b) > 3.5


def test_teleporting_with_an_object_in_the_center():
    for clip in each_clip("single_object_teleporting_from_one_corner_to_another_while_another_object_is_in_the_center"):
        (c,), (i,) = static_and_moving(clip)
        assert np.abs(pos(clip, c)[0, :2] - [0, 0.3]).max() < 0.7 and visible(clip, c).all()
        ((a, b),) = _jumps(clip, i)
        assert _at_corner(a) and _at_corner(b) and np.linalg.norm(a - b) > 3.5


@pytest.mark.parametrize("slug,n", [("two_objects_in_opposite_corners_switch_places_by_teleporting", 2),
                                    ("four_objects_in_four_corners_switch_places_by_teleporting", 4)])
def test_teleporting_switch_places(slug, n):
    for clip in each_clip(slug):
        obj = ids(clip)
        assert len(obj) == n
        jumps = {i: _jumps(clip, i) for i in obj}
        assert all(len(j) == 1 for j in jumps.values())  # everybody jumps once
        starts = np.array([jumps[i][0][0] for i in obj])
        ends = np.array([jumps[i][0][1] for i in obj])
        assert all(_at_corner(xy) for xy in starts)
        assert len({(np.sign(x), np.sign(y - 0.25)) for x, y in starts}) == n  # distinct corners
        for i, e in enumerate(ends):  # each lands on another's corner
            k = int(np.argmin(np.linalg.norm(starts - e, axis=1)))
            assert k != i and np.linalg.norm(starts[k] - e) < 1e-6
        if n == 2:
            assert abs(starts[0, 0] - starts[1, 0]) > 4.5 and abs(starts[0, 1] - starts[1, 1]) > 3.5  # opposite


def test_teleporting_one_of_two_together():
    for clip in each_clip("two_objects_together_in_one_corner_then_one_teleports_to_other_corner"):
        a, b = ids(clip)
        assert np.linalg.norm(pos(clip, a)[0] - pos(clip, b)[0]) < sizes_of(clip, a)[0] + sizes_of(clip, b)[0] + 1.0
        jumps = {i: _jumps(clip, i) for i in (a, b)}
        assert sorted(len(j) for j in jumps.values()) == [0, 1]  # one stays, one jumps
        ((src, dst),) = [j[0] for j in jumps.values() if j]
        assert np.linalg.norm(dst - src) > 2.5 and _at_corner(dst)
