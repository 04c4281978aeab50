"""Syn-TA motion programs of coarse classes 0-9 (appearing ... falling): each trajectory does what its
class name says, over several seeds and clip lengths, and every program keeps the program contract."""
from __future__ import annotations

import colorsys
import json
import os
from functools import lru_cache

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tabench import TabenchError  # noqa: E402
from tabench.synth.motions import MotionContext, all_motions  # noqa: E402
from tabench.synth.scene import SET_SHAPES  # noqa: E402
from tabench.taxonomy import load  # noqa: E402

COARSE = range(0, 10)
SEEDS = range(5)
LENGTHS = (60, 105, 250)
TAX = load("syn-ta")
MINE = {f.slug: f for f in TAX.fine if f.coarse_id in COARSE}
COARSE_OF = {slug: TAX.coarse[f.coarse_id].name for slug, f in MINE.items()}


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


# ----- contract -------------------------------------------------------------------------------------------
def test_every_class_of_coarse_0_to_9_is_registered():
    expected = {f.slug for f in TAX.fine if f.coarse_id in COARSE}
    assert {f.set for f in TAX.fine if f.slug in expected} == {1, 2}
    assert len(expected) == 52
    missing = expected - set(all_motions())
    assert not missing, f"no motion program for {sorted(missing)}"


@pytest.mark.parametrize("slug", sorted(MINE))
def test_contract(slug):
    f = MINE[slug]
    for n, c in clips(slug):
        assert c.num_frames == n
        assert all(len(fr) >= 1 for fr in c.frames)
        shapes = {st.shape for fr in c.frames for st in fr.values()}
        assert shapes <= set(SET_SHAPES[f.set]), f"{slug} uses shapes outside set {f.set}: {shapes}"
        params = json.loads(json.dumps(c.params))
        assert params == c.params and params, "params must be plain JSON"

        def plain(v):
            if isinstance(v, dict):
                return all(plain(x) for x in v.values())
            if isinstance(v, list):
                return all(plain(x) for x in v)
            return type(v) in (int, float, str, bool, type(None))

        assert plain(c.params)
    # deterministic for a seed, different across seeds
    again = all_motions()[slug](np.random.default_rng(3), MotionContext(f.set, SET_SHAPES[f.set], 105))
    assert repr(again.frames) + repr(again.props) == repr(make(slug, 3, 105).frames) + repr(make(slug, 3, 105).props)
    variants = {repr(make(slug, s, 105).frames) for s in SEEDS}
    assert len(variants) == len(SEEDS)
    assert len({json.dumps(make(slug, s, 105).params, sort_keys=True) for s in SEEDS}) == len(SEEDS)


@pytest.mark.parametrize("slug", sorted(MINE))
def test_visible_objects_stay_on_stage(slug):
    leaving = COARSE_OF[slug] in ("arriving", "departing")
    for n, c in clips(slug):
        for i in c.object_ids():
            p, o = pos(c, i), opac(c, i)
            seen = ~np.isnan(o) & (o > 0)
            assert (np.abs(p[seen, 1]) <= 3.5 + 1e-9).all()
            assert ((p[seen, 2] >= 0) & (p[seen, 2] <= 4.0)).all()
            bottom = p[:, 2] - c.track(i, "size") * c.track(i, "scale")[:, 2]
            assert (bottom[seen] >= -1e-6).all(), "objects never sink into the ground"
            inside = np.abs(p[:, 0]) <= 3.5 + 1e-9
            if leaving:  # the object is only outside while it enters or leaves the view, along x
                assert inside[seen].mean() >= 0.1
            else:
                assert inside[seen].all(), f"{slug}: object {i} leaves the stage"


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


@pytest.mark.parametrize("slug", sorted(s for s in MINE if COARSE_OF[s] != "cloning"))
def test_objects_never_intersect(slug):
    for n, c in clips(slug):
        assert not any(_overlaps(c, t) for t in range(n)), f"{slug}: objects intersect"


def _penetrates(state, prop, tol=1e-6):
    half = np.asarray(state.scale) * state.size
    lo, hi = np.subtract(state.position, half), np.add(state.position, half)
    plo = np.subtract(prop.position, prop.half_extent)
    phi = np.add(prop.position, prop.half_extent)
    overlap = np.minimum(hi, phi) - np.maximum(lo, plo)
    return bool((overlap > tol).all())


@pytest.mark.parametrize("slug", sorted(MINE))
def test_objects_never_pass_through_props(slug):
    for n, c in clips(slug):
        for fr in c.frames:
            for st in fr.values():
                assert not any(_penetrates(st, p) for p in c.props), f"{slug}: object inside a prop"


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
        assert len(c.props) >= 2 and reversals(x) == 0
        lands = _landings(c)
        assert len(lands) >= 2 and all(b < a - 0.2 for a, b in zip(lands, lands[1:])), "each landing is a step lower"
        assert z[0] - s >= 1.0 and abs(z[-1] - s) < 1e-9, "from the top step to the ground"
    for n, c in clips("single_object_imitating_the_motion_of_bouncing_and_going_up_stairs"):
        z, x, s = pos(c, 0)[:, 2], pos(c, 0)[:, 0], size(c, 0)[0]
        assert len(c.props) >= 2 and reversals(x) == 0
        lands = _landings(c)
        assert len(lands) >= 2 and all(b > a + 0.2 for a, b in zip(lands, lands[1:])), "each landing is a step higher"
        assert abs(z[0] - s) < 1e-9 and z[-1] - s >= 1.0, "from the ground to the top step"


def test_bouncing_against_a_wall():
    for n, c in clips("single_object_imitating_the_motion_of_bouncing_against_a_wall"):
        (wall,) = c.props
        x, s = pos(c, 0)[:, 0], size(c, 0)[0]
        side = np.sign(wall.position[0] - x[0])
        face = wall.position[0] - side * wall.half_extent[0]
        reach = side * (x + side * s - face)  # 0 when touching the wall, negative before it
        hit = int(np.argmax(reach))
        assert reach.max() <= 1e-9 and abs(reach[hit]) < 1e-6, "touches the wall without going in"
        before, after = np.diff(side * x[:hit + 1]), np.diff(side * x[hit:])
        assert (before >= -1e-9).all() and (after <= 1e-9).all() and after.sum() < -1.0, "rebounds off it"
        assert wall.half_extent[2] * 2 > pos(c, 0)[hit, 2] + s, "the wall is taller than where it is hit"


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
        births = _clone_checks(c, same_colour=False)
        assert len(births) == 2
        col0, col1 = _colors(c, 0), _colors(c, 1)
        assert np.ptp(col0, axis=0).max() < 1e-9, "the original keeps its colour"
        assert np.linalg.norm(col1[-1] - col0[-1]) > 0.4


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
