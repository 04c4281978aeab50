"""The contract every Syn-TA motion program keeps (see `tabench.synth.motions`), over all 100 fine classes:
registered, exact frame count, shapes from its set's pool only, plain-JSON params, objects on the stage and
never in the ground, objects apart unless the class joins them, deterministic for a seed and varied across
seeds."""
from __future__ import annotations

import itertools
import json
from functools import lru_cache

import numpy as np
import pytest

from tabench.synth.motions import MotionContext, all_motions
from tabench.synth.scene import SET_SHAPES
from tabench.taxonomy import load

TAX = load("syn-ta")
SLUGS = [f.slug for f in TAX.fine]
COARSE_OF = {f.slug: TAX.coarse[f.coarse_id].name for f in TAX.fine}
SEEDS = range(5)
LENGTHS = (60, 105, 250)
LEAVING = ("arriving", "departing")  # objects are outside the stage while they enter or leave the view
JOINING = ("cloning", "merging")  # parts of one object touch while it splits or joins


@lru_cache(maxsize=None)
def make(slug: str, seed: int, n: int):
    f = TAX.by_slug(slug)
    return all_motions()[slug](np.random.default_rng(seed), MotionContext(f.set, SET_SHAPES[f.set], n))


def clips(slug):
    for n in LENGTHS:
        for seed in SEEDS:
            yield n, make(slug, seed, n)


def test_every_fine_class_has_a_program():
    assert len(SLUGS) == 100 and {f.set for f in TAX.fine} == {1, 2}
    missing = set(SLUGS) - set(all_motions())
    assert not missing, f"no motion program for {sorted(missing)}"


def _plain(v) -> bool:
    if isinstance(v, dict):
        return all(isinstance(k, str) and _plain(x) for k, x in v.items())
    if isinstance(v, list):
        return all(_plain(x) for x in v)
    return type(v) in (int, float, str, bool, type(None))


@pytest.mark.parametrize("slug", SLUGS)
def test_contract(slug):
    f = TAX.by_slug(slug)
    for n, c in clips(slug):
        assert c.num_frames == n
        assert c.params and _plain(c.params) and json.loads(json.dumps(c.params)) == c.params
        for fr in c.frames:
            for st in fr.values():
                assert st.shape in SET_SHAPES[f.set], f"{slug} uses {st.shape} outside set {f.set}"
                assert 0.0 <= st.opacity <= 1.0
                assert 0.09 <= st.size <= 1.6, (slug, st.size)
    # deterministic for a seed, different across seeds
    again = all_motions()[slug](np.random.default_rng(3), MotionContext(f.set, SET_SHAPES[f.set], 105))
    assert again.frames == make(slug, 3, 105).frames and again.params == make(slug, 3, 105).params
    assert len({repr(make(slug, s, 105).frames) for s in SEEDS}) == len(SEEDS)
    assert len({json.dumps(make(slug, s, 105).params, sort_keys=True) for s in SEEDS}) == len(SEEDS)


@pytest.mark.parametrize("slug", SLUGS)
def test_visible_objects_stay_on_stage(slug):
    leaving = COARSE_OF[slug] in LEAVING
    for n, c in clips(slug):
        for i in c.object_ids():
            p, o = c.track(i, "position"), c.track(i, "opacity")
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


def _min_gap(c, i, j) -> float:
    """Smallest centre distance minus both bounding radii over the frames where both are visible."""
    best = np.inf
    for fr in c.frames:
        if i in fr and j in fr and fr[i].opacity > 0 and fr[j].opacity > 0:
            d = np.linalg.norm(np.subtract(fr[i].position, fr[j].position)) - fr[i].radius() - fr[j].radius()
            best = min(best, d)
    return best


@pytest.mark.parametrize("slug", [s for s in SLUGS if COARSE_OF[s] not in JOINING])
def test_objects_never_touch(slug):
    for n, c in clips(slug):
        for i, j in itertools.combinations(c.object_ids(), 2):
            assert _min_gap(c, i, j) > -1e-9, (slug, i, j)


SAME_LOOKING = ("two_same_small_objects_expanding_into_different_bigger_sizes",)  # alike by name


@pytest.mark.parametrize("slug", [s for s in SLUGS if s not in SAME_LOOKING])
def test_every_object_of_several_is_coloured_differently(slug):
    c = make(slug, 0, 105)
    first = {i: st.color for i, st in c.frames[0].items()}
    assert len(set(first.values())) == len(first)
