"""Idle objects (tabench.synth.idle): static, class-independent objects that keep a first frame from naming
the class, without touching, hiding or being hidden by the class's objects."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tabench import TabenchError
from tabench.cli import main
from tabench.synth import generate as G
from tabench.synth.generate import parse_idle
from tabench.synth.idle import MARGIN_PX, TOP_OUT, _boxes, add_idle_objects
from tabench.synth.scene import SET_SHAPES
from tabench.taxonomy import load

render_gl = pytest.importorskip("tabench.synth.render_gl")
_ok, _why = render_gl.gl_available()
gl = pytest.mark.skipif(not _ok, reason=f"no EGL context: {_why}")

W, H = G.frame_size(112)
# first-frame object counts without idle objects: cloning 1, orbiting 2, expanding 1-2, arriving up to 6
CLASSES = ("single_object_cloning_into_two_identical_objects_both_going_in_same_direction",
           "single_object_orbiting_another_object_in_the_center_in_clockwise_direction_on_horizontal_plane",
           "single_object_falling_straight_down_without_changing_direction",
           "multiple_objects_arriving_one_by_one")


def _clip(slug: str, index: int, idle=(2, 5)):
    tax = load("syn-ta")
    fine = next(f for f in tax.fine if f.slug == slug)
    job = G.Job(fine, "train", index)
    opts = G.Options(out="unused", background="plain", idle_objects=idle)
    from tabench.synth.backgrounds import load_pools

    vp = G.plan_video(job, opts, load_pools("plain", None, lambda m: None))
    clip = G.run_motion(vp, 24)
    if idle is None:
        return clip, vp
    return add_idle_objects(clip, vp.camera, SET_SHAPES[fine.set], G._rng(vp.seed, G.STREAM_IDLE), idle, W, H), vp


def _first_count(clip) -> int:
    return sum(s.opacity > 0 and s.size > 0 for s in clip.frames[0].values())


def test_parse_idle():
    assert parse_idle(None) == (2, 5)
    assert parse_idle("none") is None
    assert parse_idle("3") == (3, 3) and parse_idle("1-4") == (1, 4)
    for bad in ("x", "5-2", "0-3", "2-9"):
        with pytest.raises(TabenchError, match="--idle-objects"):
            parse_idle(bad)


def test_idle_objects_are_static_and_clear_of_every_other_object_in_every_frame():
    for slug in CLASSES:
        for index in range(6):
            clip, vp = _clip(slug, index)
            rec = clip.params["idle"]
            assert rec["placed"] == len(rec["ids"]) <= rec["wanted"]
            assert _first_count(clip) == _first_count(_clip(slug, index, None)[0]) + rec["placed"]
            assert _first_count(clip) >= rec["total_drawn"] or rec["placed"] < rec["wanted"]
            others = [s for f in clip.frames for i, s in f.items() if i not in rec["ids"] and s.opacity > 0]
            taken = _boxes(others, vp.camera, W, H)
            for i in rec["ids"]:
                states = [f[i] for f in clip.frames]
                assert all(s == states[0] for s in states), "an idle object changed"
                box = _boxes([states[0]], vp.camera, W, H)[0]
                assert box[0] >= 0 and box[1] >= -TOP_OUT * (box[3] - box[1]) - 1e-6 and box[2] <= W and box[3] <= H
                sep = np.maximum.reduce([taken[:, 0] - box[2], box[0] - taken[:, 2],
                                         taken[:, 1] - box[3], box[1] - taken[:, 3]])
                assert sep.min() >= MARGIN_PX - 1e-6, f"{slug}: idle object {i} within {sep.min():.1f} px"


def test_first_frame_count_no_longer_names_the_class():
    """Without idle objects every cloning video starts with one object and every orbiting one with two; with
    them both start with a total drawn from one range."""
    counts = {slug: [_first_count(_clip(slug, i)[0]) for i in range(30)] for slug in CLASSES[:2]}
    plain = {slug: {_first_count(_clip(slug, i, None)[0]) for i in range(5)} for slug in CLASSES[:2]}
    assert plain == {CLASSES[0]: {1}, CLASSES[1]: {2}}
    for slug, c in counts.items():
        assert set(c) <= {2, 3, 4, 5} and len(set(c)) >= 3, (slug, c)
    assert abs(np.mean(counts[CLASSES[0]]) - np.mean(counts[CLASSES[1]])) < 0.8


def test_idle_objects_may_be_cut_by_the_top_edge_as_falling_objects_start():
    """Falling objects often start cut by the frame's top edge; idle objects can be too, so that such an object
    does not name the class (before, every idle object kept 4 px inside the frame)."""
    cut = 0
    for fine in load("syn-ta").fine[::4]:
        for i in (0, 1):
            clip, vp = _clip(fine.slug, i)
            ids = clip.params["idle"]["ids"]
            if ids:
                boxes = _boxes([clip.frames[0][j] for j in ids], vp.camera, W, H)
                cut += int((boxes[:, 1] < 0).sum())
    assert cut >= 2, cut


def test_objects_waiting_off_screen_do_not_count_towards_the_total():
    """Arriving objects start off screen. Counted as present, they left an arriving video's first frame with
    fewer objects than any other class's (1.1 on screen for 2.7 present), and the audit recognised arriving
    from that (16 % / 12 % of its unknown videos on the full default dataset)."""
    from tabench.synth.idle import on_screen

    off = 0
    for i in range(8):
        clip, vp = _clip(CLASSES[3], i)
        plain, _ = _clip(CLASSES[3], i, None)
        rec = clip.params["idle"]
        present = _first_count(plain)
        shown = len(on_screen(plain.frames[0].values(), vp.camera, W, H))
        off += present - shown
        assert rec["wanted"] == max(0, rec["total_drawn"] - shown)
        assert rec["on_screen"] == shown
        assert len(on_screen(clip.frames[0].values(), vp.camera, W, H)) == shown + rec["placed"]
        assert shown + rec["placed"] >= rec["total_drawn"] or rec["placed"] < rec["wanted"]
    assert off >= 4, off  # the class does start with objects off screen


def test_idle_objects_are_deterministic_from_the_seed():
    a, _ = _clip(CLASSES[2], 3)
    b, _ = _clip(CLASSES[2], 3)
    assert a.params["idle"] == b.params["idle"]


@gl
def test_generate_records_idle_objects_and_none_turns_them_off(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TABENCH_CACHE", str(tmp_path / "cache"))
    base = ["synth", "generate", "--classes", CLASSES[0], "--train-per-class", "2", "--val-per-class", "0",
            "--size", "64", "--max-frames", "70", "--frames", "60-70", "--background", "plain", "--no-progress"]
    assert main([*base, "--out", str(tmp_path / "on")]) == 0
    doc = json.loads((tmp_path / "on" / "synth.json").read_text())
    assert doc["options"]["idle_objects"] == [2, 5]
    assert doc["idle_objects"]["total"] == [2, 5] and doc["idle_objects"]["videos_short"] >= 0
    assert doc["visibility"][CLASSES[0]]["idle_objects"]["videos"] == 2
    for side in (tmp_path / "on" / "videos").rglob("*.json"):
        car = json.loads(side.read_text())
        idle = car["params"]["idle"]
        ids = {o["id"] for o in car["frames"][0]}
        assert set(idle["ids"]) <= ids and len(ids) >= min(idle["total_drawn"], 1 + idle["placed"])
    assert main([*base, "--out", str(tmp_path / "off"), "--idle-objects", "none"]) == 0
    doc = json.loads((tmp_path / "off" / "synth.json").read_text())
    assert "idle_objects" not in doc["options"] and doc["idle_objects"]["total"] is None
    for side in (tmp_path / "off" / "videos").rglob("*.json"):
        car = json.loads(side.read_text())
        assert "idle" not in car["params"] and len(car["frames"][0]) == 1
    # resuming with another setting is refused (the videos would differ)
    assert main([*base, "--out", str(tmp_path / "off")]) == 2
    assert "idle_objects" in capsys.readouterr().err


@gl
def test_idle_objects_leave_the_visibility_verdict_unchanged():
    """draw_scene checks the rule before adding idle objects; checking the finished scene gives the same
    verdict (no object loses visibility, no gap closes), also for a class whose objects must keep apart."""
    from tabench.synth import visibility
    from tabench.synth.backgrounds import load_pools

    tax = load("syn-ta")
    renderer = G.RENDERERS["gl"]()
    pools = load_pools("plain", None, lambda m: None)
    for slug in (CLASSES[3], "two_objects_moving_towards_each_other_but_not_colliding"):
        fine = next(f for f in tax.fine if f.slug == slug)
        apart = tax.coarse[fine.coarse_id].name in visibility.APART_COARSE
        for index in range(3):
            vp = G.plan_video(G.Job(fine, "train", index), G.Options(out="unused", background="plain"), pools)
            clip, rec = G.draw_scene(vp, tax, 24)
            assert clip.params["idle"]["placed"] >= 0
            again = visibility.evaluate(renderer.coverage(clip, vp.camera, W, H), apart, False)
            assert again["passed"] == rec["passed"]
            assert again["min_visible_frames"] == rec["min_visible_frames"]
            if apart:
                assert again["min_gap_px"] >= visibility.MIN_GAP_PX


@gl
def test_videos_short_of_idle_objects_are_reported(tmp_path, monkeypatch, capsys):
    """A scene with no room for its idle objects is not silent: the run says so and synth.json counts it."""
    from tabench.synth import idle

    monkeypatch.setenv("TABENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(idle, "TRIES", 0)  # no position tried: every idle object that was wanted is missing
    assert main(["synth", "generate", "--out", str(tmp_path / "d"), "--classes", CLASSES[0], "--train-per-class",
                 "2", "--val-per-class", "0", "--size", "64", "--frames", "60-70", "--background", "plain",
                 "--idle-objects", "6", "--no-progress"]) == 0
    doc = json.loads((tmp_path / "d" / "synth.json").read_text())
    assert doc["idle_objects"]["videos_short"] == 2
    assert doc["visibility"][CLASSES[0]]["idle_objects"] == {"videos": 2, "mean_placed": 0.0, "short": 2}
    assert "2 videos got fewer idle objects than drawn" in capsys.readouterr().err
