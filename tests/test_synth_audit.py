"""`tabench synth audit DATA`: the single-frame and clip-length classifiers find a planted static cue and a
length cue on the unknown set, and stay at chance on a dataset without them."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tabench import TabenchError
from tabench.cli import main
from tabench.data.format import VideoEntry, write_dataset
from tabench.synth.audit import audit, cue_classes, format_audit, wilson_interval
from tabench.synth.encode import encode_video
from tabench.taxonomy import load

TAX = load("syn-ta")
W, H = 64, 36


def _coarse_in_both_sets(k: int):
    """k coarse classes with a fine class in each set: [(coarse_id, fine of set 1, fine of set 2)]."""
    out = []
    for c in range(len(TAX.coarse)):
        f1 = [f for f in TAX.fine_of_set(1) if f.coarse_id == c]
        f2 = [f for f in TAX.fine_of_set(2) if f.coarse_id == c]
        if f1 and f2:
            out.append((c, f1[0], f2[0]))
    return out[:k]


COLOURS = [(230, 30, 30), (30, 200, 30), (40, 40, 230)]


def _make(root, biased: bool, train=10, val=10, seed=0, prop_only_in=None):
    """Real mp4s: noise backgrounds with a small moving square. Biased: a static coloured patch per coarse
    class (a 'prop') in every frame and a clip length set by the class; else neither. `prop_only_in=k`: a
    prop in the k-th class's videos only, no length cue."""
    rng = np.random.default_rng(seed)
    entries = []
    for k, (c, *fines) in enumerate(_coarse_in_both_sets(3)):
        for set_id, fine in zip((1, 2), fines):
            for split, n in (("train", train), ("val", val)):
                for i in range(n):
                    t = 10 + 6 * k if biased else int(rng.integers(10, 23))
                    frames = rng.integers(60, 200, (1, H, W, 3)).repeat(t, 0).astype(np.uint8)
                    x0, y0 = rng.integers(0, W - 8), rng.integers(0, H - 8)
                    for j in range(t):
                        frames[j, y0:y0 + 6, (x0 + j) % (W - 6):(x0 + j) % (W - 6) + 6] = 255
                    if biased or prop_only_in == k:
                        frames[:, 2:14, 2:14] = COLOURS[k]
                    rel = f"videos/{fine.slug}/{split}_{i:04d}.mp4"
                    encode_video(root / rel, frames, fps=24)
                    entries.append(VideoEntry(rel, set_id, split, c, fine.id))
    write_dataset(root, TAX, entries)
    return root


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    base = tmp_path_factory.mktemp("audit")
    return _make(base / "biased", True), _make(base / "clean", False)


def test_audit_finds_a_static_prop_and_a_length_cue(datasets):
    res = audit(datasets[0], size=18, epochs=1, min_steps=40, log=lambda m: None)
    assert res["videos"] == {"set1_train": 30, "set1_val": 30, "set2_train": 30, "set2_val": 30}
    for d in res["directions"]:
        assert d["chance"] == pytest.approx(1 / 3)
        for name in ("first_frame", "random_frame", "clip_length"):
            assert d[name]["unknown"]["accuracy"] >= 0.9, (name, d)
            assert d[name]["unknown"]["above_chance"]
    assert res["above_chance_unknown"] == ["first_frame", "random_frame", "clip_length"]


def test_audit_is_at_chance_without_cues_and_the_cli_writes_json(datasets, tmp_path, capsys):
    out = tmp_path / "audit.json"
    assert main(["synth", "audit", str(datasets[1]), "--size", "18", "--epochs", "40", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["above_chance_unknown"] == []
    for d in res["directions"]:
        for name in ("first_frame", "random_frame", "clip_length"):
            assert d[name]["unknown"]["accuracy"] < 0.6, (name, d)
    text = capsys.readouterr().out
    assert "first_frame" in text and "clip_length" in text and "within chance" in text


def test_audit_names_the_class_whose_frames_carry_the_cue(tmp_path, capsys):
    root = _make(tmp_path / "one", False, prop_only_in=1, seed=3)
    res = audit(root, size=18, epochs=40, log=lambda m: None)
    names = [TAX.coarse[c].name for c, *_ in _coarse_in_both_sets(3)]
    for d in res["directions"]:
        u = d["first_frame"]["unknown"]
        assert set(u["per_class"]) == set(names) and all(v["n"] == 10 for v in u["per_class"].values())
        assert u["per_class"][names[1]]["recall"] >= 0.9, u["per_class"]
        assert cue_classes(u["per_class"])[0] == names[1], u["per_class"]
    text = format_audit(res)
    assert "where the cue sits: " + names[1] in text


def test_wilson_interval_and_bad_input(tmp_path):
    lo, hi = wilson_interval(10, 30)
    assert lo < 1 / 3 < hi and 0.18 < lo < 0.2 and 0.5 < hi < 0.53
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(TabenchError, match="--size"):
        audit(tmp_path, size=8)
    assert main(["synth", "audit", str(tmp_path / "missing")]) == 2


def test_chance_is_what_answering_the_most_frequent_training_class_scores():
    """Coarse classes with more fine classes have more videos: always answering the biggest one beats 1/C, so
    the audit must not call that a cue."""
    from tabench.synth.audit import chance_level

    assert chance_level(np.array([0, 1, 2, 3]), np.array([0, 1, 2, 3])) == pytest.approx(0.25)
    train, test = np.array([0, 0, 0, 1, 2, 3]), np.array([0, 0, 0, 1, 2, 3, 3, 3])
    assert chance_level(train, test) == pytest.approx(3 / 8)
