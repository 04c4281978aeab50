"""`tabench synth generate` end to end on a tiny run: dataset format, videos, sidecars, shards, resume."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from tabench import TabenchError
from tabench.cli import main
from tabench.data.format import check_dataset
from tabench.synth import generate as G
from tabench.synth.backgrounds import license_of, parse_dep5, user_pools

render_gl = pytest.importorskip("tabench.synth.render_gl")
_ok, _why = render_gl.gl_available()
gl = pytest.mark.skipif(not _ok, reason=f"no EGL context: {_why}")

# two Set 1 classes and one Set 2 class, with the real motion programs
CLASSES = ("single_object_falling_straight_down_without_changing_direction,"
           "single_object_rising_straight_up_without_changing_direction,single_object_moving_from_right_to_left")
TINY = ["--classes", CLASSES, "--train-per-class", "2", "--val-per-class", "1", "--size", "64",
        "--max-frames", "12", "--background", "plain", "--no-progress"]
SIDECAR_KEYS = {"seed", "set", "class", "view", "camera", "background", "shapes", "colors", "frames", "params",
                "num_frames", "fps", "width", "height"}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TABENCH_CACHE", str(tmp_path / "cache"))


def _run(out: Path, *extra: str) -> int:
    return main(["synth", "generate", "--out", str(out), *TINY, *extra])


def _videos(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted((root / "videos").rglob("*.mp4"))
            if not p.name.startswith(".")}


def _decode(path: Path) -> tuple[np.ndarray, float]:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
        return frames, float(s.average_rate)


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """One unsharded tiny run, shared by the tests that only read it."""
    if not _ok:
        pytest.skip(f"no EGL context: {_why}")
    out = tmp_path_factory.mktemp("whole")
    old = os.environ.get("TABENCH_CACHE")
    os.environ["TABENCH_CACHE"] = str(out / "cache")
    try:
        assert main(["synth", "generate", "--out", str(out / "data"), *TINY]) == 0
    finally:
        if old is None:
            os.environ.pop("TABENCH_CACHE")
        else:
            os.environ["TABENCH_CACHE"] = old
    return out / "data"


@gl
def test_tiny_run_is_a_valid_dataset(whole):
    rep = check_dataset(whole)
    assert rep.ok, rep.errors
    rows = list(csv.DictReader(open(whole / "manifest.csv")))
    assert len(rows) == 3 * 3
    assert {"view", "background", "num_frames"} <= set(rows[0])
    assert json.loads((whole / "taxonomy.json").read_text())["name"] == "syn-ta"
    assert json.loads((whole / "backgrounds.json").read_text())["mode"] == "plain"
    videos = _videos(whole)
    assert set(videos) == {r["path"] for r in rows}
    mask = os.umask(0)
    os.umask(mask)
    for rel, path in videos.items():
        for f in (path, path.with_suffix(".json")):  # readable like any file, not 0600 like a temp file
            assert f.stat().st_mode & 0o777 == 0o644 & ~mask, f
        frames, fps = _decode(path)
        side = json.loads(path.with_suffix(".json").read_text())
        assert SIDECAR_KEYS <= set(side)
        assert frames.shape == (side["num_frames"], 64, 114, 3) and fps == 24
        assert 1 <= side["num_frames"] <= 12 and len(side["frames"]) == side["num_frames"]
        row = next(r for r in rows if r["path"] == rel)
        assert row["view"] == side["view"] and int(row["num_frames"]) == side["num_frames"]
        assert row["background"].startswith("plain:#") and side["background"]["kind"] == "plain"
        # views alternate by index; the class is where the path says
        assert side["view"] == ("elevated" if side["index"] % 2 == 0 else "front")
        assert rel.split("/")[2] == side["class"]["slug"]
        cam = side["camera"]
        assert {"azimuth_deg", "elevation_deg", "distance", "eye", "target", "fov_y_deg"} <= set(cam)
        assert np.isclose(np.linalg.norm(np.subtract(cam["eye"], cam["target"])), cam["distance"], atol=1e-3)
        assert (6 <= cam["elevation_deg"] <= 19) if side["view"] == "front" else (26 <= cam["elevation_deg"] <= 56)
        vis = side["visibility"]
        assert vis["passed"] and 1 <= vis["attempts"] and vis["min_visible_frames"] >= 0.6
        # every object state carries its projected box, which contains the projected centre
        for obj in side["frames"][0]:
            x0, y0, x1, y1 = obj["box"]
            assert x0 < x1 and y0 < y1
            assert set(obj) >= {"id", "shape", "position", "rotation", "color", "opacity", "box"}
        assert set(side["shapes"]) <= set({1: ("cube", "cone", "pyramid", "prism"),
                                           2: ("sphere", "cylinder", "torus", "capsule")}[side["set"]])
    # the visibility rule's numbers per class in synth.json
    stats = json.loads((whole / "synth.json").read_text())["visibility"]
    assert set(stats) == {r["path"].split("/")[2] for r in rows}
    assert all(v["videos"] == 3 and v["passed"] == 3 for v in stats.values())
    # the corner pixel of a plain video is its (muted) colour
    rel, path = next(iter(videos.items()))
    colour = json.loads(path.with_suffix(".json").read_text())["background"]["color"]
    assert np.abs(_decode(path)[0][0, 0, 0].astype(int) - np.array(colour) * 255).max() < 8


@gl
def test_shards_together_equal_the_whole_run(whole, tmp_path):
    out = tmp_path / "sharded"
    assert _run(out, "--shard", "1/2") == 0
    first = set(_videos(out))
    assert len(first) == 5  # round robin over 9 jobs
    assert _run(out, "--shard", "2/2", "--workers", "2") == 0
    assert len(_videos(out)) == 9  # the second part rendered the other 4
    assert _run(out) == 0  # no --shard: nothing left to render, writes the full manifest
    assert set(_videos(out)) == set(_videos(whole))
    assert (out / "manifest.csv").read_bytes() == (whole / "manifest.csv").read_bytes()
    # synth.json's per-class stats: the whole run took them from what its workers wrote, the last sharded run
    # (nothing left to render) from the sidecars on disk; the same numbers either way
    sharded, one = (json.loads((d / "synth.json").read_text()) for d in (out, whole))
    assert sharded["visibility"] == one["visibility"] and sharded["idle_objects"] == one["idle_objects"]
    assert all(v["idle_objects"]["videos"] == 3 for v in one["visibility"].values())
    for rel, path in _videos(whole).items():
        other = out / rel
        assert other.with_suffix(".json").read_bytes() == path.with_suffix(".json").read_bytes(), rel
        assert np.array_equal(_decode(other)[0], _decode(path)[0]), rel


@gl
def test_resume_regenerates_only_what_is_missing(tmp_path):
    out = tmp_path / "data"
    assert _run(out) == 0
    videos = _videos(out)
    victim = sorted(videos)[3]
    before = _decode(videos[victim])[0]
    mtimes = {rel: p.stat().st_mtime_ns for rel, p in videos.items()}
    side_mtimes = {rel: p.with_suffix(".json").stat().st_mtime_ns for rel, p in videos.items()}
    videos[victim].unlink()
    stray = videos[victim].with_name(f".{videos[victim].name}.x1y2z3.mp4")  # a crashed run's half-written temp
    stray.write_bytes(b"\x00\x00\x00 ftypisom half")
    assert check_dataset(out).errors  # the manifest still lists the deleted video
    assert _run(out) == 0
    after = _videos(out)
    assert set(after) == set(videos)
    for rel, p in after.items():
        if rel != victim:
            assert p.stat().st_mtime_ns == mtimes[rel], rel
            assert p.with_suffix(".json").stat().st_mtime_ns == side_mtimes[rel], rel
    assert np.array_equal(_decode(after[victim])[0], before)  # deterministic
    assert check_dataset(out).ok
    assert stray.name not in (out / "manifest.csv").read_text()


@gl
def test_annotations_are_written_per_video(tmp_path):
    out = tmp_path / "data"
    assert main(["synth", "generate", "--out", str(out), "--classes",
                 "single_object_falling_straight_down_without_changing_direction", "--train-per-class", "1",
                 "--val-per-class", "0", "--size", "64", "--max-frames", "6", "--background", "plain",
                 "--annotations", "masks,depth", "--no-progress"]) == 0
    (video,) = _videos(out).values()
    masks = np.load(video.with_name(video.stem + ".masks.npz"))["masks"]
    depth = np.load(video.with_name(video.stem + ".depth.npz"))["depth"]
    assert masks.shape == depth.shape == (6, 64, 114)
    assert masks.max() >= 1 and np.isfinite(depth[masks > 0]).all()


def test_user_errors_are_one_line(tmp_path, capsys):
    out = tmp_path / "data"
    for extra, msg in ((["--shard", "0/2"], "1-based"), (["--frames", "9-3"], "MIN <= MAX"),
                       (["--size", "4000"], "between"), (["--views", "top"], "--views"),
                       (["--classes", "dancing"], "neither a fine class")):
        assert main(["synth", "generate", "--out", str(out), *extra]) == 2
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err


def test_a_class_without_a_program_is_named(monkeypatch):
    from tabench.synth.motions import MOTIONS, all_motions

    all_motions()
    slug = "single_object_moving_from_left_to_right"
    monkeypatch.delitem(MOTIONS, slug)
    with pytest.raises(TabenchError, match=f"no motion program yet for 1 of .*{slug}"):
        G.generate(G.Options(out="/nonexistent", classes=("moving in a path",), background="plain"))


@gl
def test_resuming_with_other_options_is_refused(tmp_path, capsys):
    out = tmp_path / "data"
    args = ["synth", "generate", "--out", str(out), "--classes", "single_object_moving_from_right_to_left",
            "--train-per-class", "1", "--val-per-class", "0", "--size", "64", "--max-frames", "4",
            "--background", "plain", "--no-progress"]
    assert main(args) == 0
    assert main([*args, "--seed", "7"]) == 2
    assert "different seed" in capsys.readouterr().err


@gl
def test_resuming_into_a_corrupt_synth_json_is_refused_and_loses_nothing(tmp_path, capsys):
    """A synth.json that cannot be read was taken for none (or crashed with a traceback) and replaced, so a
    resume mixed videos of other options in unchecked; now it is refused, one line, before anything is written."""
    out = tmp_path / "data"
    args = ["synth", "generate", "--out", str(out), "--classes", "single_object_moving_from_right_to_left",
            "--train-per-class", "1", "--val-per-class", "0", "--size", "32", "--max-frames", "4",
            "--background", "plain", "--no-progress"]
    assert main(args) == 0
    capsys.readouterr()
    stamps = {rel: p.stat().st_mtime_ns for rel, p in _videos(out).items()}
    assert stamps
    for content, why in ((b'{"generator": "tabench synth generate", "opt', "is not valid JSON"),
                         (b"", "is empty"), (bytes(range(128, 256)), "is not text"),
                         (b'["options"]', "holds an array, not a JSON object"),
                         (b'{"options": 112}', "has no options object")):
        (out / "synth.json").write_bytes(content)
        assert main(args) == 2, why
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert f"{out / 'synth.json'} {why}" in err and "move it aside" in err and "another --out" in err, err
        assert (out / "synth.json").read_bytes() == content  # not replaced
        assert {rel: p.stat().st_mtime_ns for rel, p in _videos(out).items()} == stamps
    (out / "synth.json").rename(out / "synth.json.bad")  # moved aside: the same options resume, nothing re-rendered
    assert main(args) == 0
    assert {rel: p.stat().st_mtime_ns for rel, p in _videos(out).items()} == stamps
    assert json.loads((out / "synth.json").read_text())["options"]["size"] == 32


def test_seeds_and_clip_lengths_are_stable():
    # a stable hash, not Python's salted hash(): these numbers must never change
    assert G.video_seed(0, "single_object_departing", "train", 0) == G.video_seed(0, "single_object_departing", "train", 0)
    assert G.video_seed(0, "a", "train", 0) == 1099758704231932209
    assert len({G.video_seed(0, "a", s, i) for s in ("train", "val") for i in range(50)}) == 100
    opts = G.Options(out="x")
    n = np.array([G.num_frames(G.video_seed(0, "c", "train", i), opts) for i in range(3000)])
    assert n.min() >= 60 and n.max() <= 250 and 100 <= n.mean() <= 110 and 38 <= n.std() <= 50
    assert G.num_frames(5, G.Options(out="x", frames=(30, 30))) == 30
    assert G.num_frames(5, G.Options(out="x", max_frames=16)) == 16
    assert G.frame_size(112) == (200, 112) and G.frame_size(64) == (114, 64) and G.frame_size(1080) == (1920, 1080)
    jobs = list(range(10))
    parts = [G.shard_of(jobs, (i, 3)) for i in (1, 2, 3)]
    assert sorted(sum(parts, [])) == jobs and not set(parts[0]) & set(parts[1])


def test_user_backgrounds_split_into_disjoint_sets(tmp_path):
    from PIL import Image

    flat = tmp_path / "photos"
    flat.mkdir()
    for i in range(5):
        Image.new("RGB", (64, 36), (40 * i, 80, 120)).save(flat / f"p{i}.jpg")
    pools = user_pools(flat)
    ids1, ids2 = {im.id for im in pools.pool(1)}, {im.id for im in pools.pool(2)}
    assert len(ids1) == 3 and len(ids2) == 2 and not ids1 & ids2
    assert all(Path(im.file).is_file() and im.origin == "user" for im in pools.pool(1))
    (tmp_path / "split" / "set1").mkdir(parents=True)
    with pytest.raises(TabenchError, match="Set 1"):
        user_pools(tmp_path / "split")


def test_debian_copyright_parsing_picks_the_last_matching_paragraph():
    text = ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
            "Files: *\nCopyright: 2014 KDE\nLicense: GPL-2+\n\n"
            "Files: 16.04/sunset.jpg\n 16.04/life.jpg\nCopyright: Aitzol, 2018\nLicense: CC-BY-4.0\n\n"
            "Files: warty.png\nCopyright: X\nLicense: CC-BY-SA-3.0\n\n"
            "License: CC-BY-4.0\n Attribution 4.0 International\n")
    paras = parse_dep5(text)
    assert license_of(paras, "16.04/life.jpg") == ("CC-BY-4.0", "Aitzol, 2018")
    assert license_of(paras, "Path/contents/images/1920x1080.jpg") == ("GPL-2+", "2014 KDE")
    assert license_of(parse_dep5("Files: a.jpg\nLicense: CC-BY-4.0\n"), "b.jpg") == ("", "")


@pytest.mark.slow
@gl
def test_realistic_backgrounds_from_debian(tmp_path):
    """Fetches three Debian wallpaper packages (~160 MB) into the cache; needs apt and the network."""
    out = tmp_path / "data"
    assert main(["synth", "generate", "--out", str(out), "--classes", CLASSES, "--train-per-class", "2",
                 "--val-per-class", "0", "--size", "64", "--max-frames", "4", "--no-progress"]) == 0
    bgs = json.loads((out / "backgrounds.json").read_text())
    ids = {s: {e["id"] for e in bgs["sets"][s]} for s in ("1", "2")}
    assert len(ids["1"]) >= 5 and len(ids["2"]) >= 5 and not ids["1"] & ids["2"]
    assert all(e["license"] and e["origin"] for s in ("1", "2") for e in bgs["sets"][s])
    for p in _videos(out).values():
        side = json.loads(p.with_suffix(".json").read_text())
        assert side["background"]["kind"] == "photo" and side["background"]["id"] in ids[str(side["set"])]


def test_failed_fetch_suggests_alternatives(monkeypatch):
    import subprocess

    from tabench.synth import backgrounds as B

    monkeypatch.setattr(B.os, "geteuid", lambda: 1000)  # not root: no apt-get update
    monkeypatch.setattr(B, "_run", lambda cmd, cwd=None: subprocess.CompletedProcess(
        cmd, 100, "", "E: Failed to fetch http://deb.debian.org/... Temporary failure resolving"))
    with pytest.raises(TabenchError, match="--backgrounds DIR.*--background plain"):
        B.load_pools("realistic")
    monkeypatch.setattr(B.shutil, "which", lambda name: None)
    with pytest.raises(TabenchError, match="apt-get/dpkg-deb are not available"):
        B.load_pools("realistic")
    assert B.load_pools("plain").mode == "plain"


def test_paper_timing_fixes_each_class_length_and_default_stays_random():
    """--timing paper: every video of a class has the class's length from the paper's scripts (the same
    duration at another fps), so the motion has one speed; the default draws a length per video."""
    from tabench.synth.backgrounds import load_pools
    from tabench.synth.motions._timing import PAPER_FRAMES
    from tabench.taxonomy import load

    tax, pools = load("syn-ta"), load_pools("plain", None)
    paper, default = G.Options(out="x", timing="paper"), G.Options(out="x")
    assert default.timing == "default" and "timing" not in default.content_key(pools)  # old datasets resume
    assert paper.content_key(pools)["timing"] == "paper"
    lengths = {}
    for fine in tax.fine:
        n = {G.plan_video(G.Job(fine, split, i), paper, pools).num_frames for split in ("train", "val") for i in range(4)}
        assert n == {PAPER_FRAMES[fine.slug][0]}, fine.slug  # fixed per class, in both views and splits
        lengths[fine.slug] = n.pop()
        drawn = {G.plan_video(G.Job(fine, "train", i), default, pools).num_frames for i in range(8)}
        assert len(drawn) > 1, fine.slug  # the default: random per video
    # the scripts' lengths have the paper's statistics (105 frames on average, std ~46)
    assert len(set(lengths.values())) >= 8 and abs(np.mean(list(lengths.values())) - 105) < 2
    assert abs(np.std(list(lengths.values())) - 46) < 2
    arriving = tax.by_slug("single_object_arriving")
    assert G.plan_video(G.Job(arriving, "train", 0), G.Options(out="x", timing="paper", fps=12), pools).num_frames == 30
    assert {src for _, src in PAPER_FRAMES.values()} <= {"frame_end", "animation"}


@gl
def test_paper_timing_is_recorded_in_synth_json_and_sidecars(whole, tmp_path, capsys):
    from tabench.synth.motions._timing import PAPER_FRAMES

    doc = json.loads((whole / "synth.json").read_text())
    assert doc["timing"] == "default" and "timing" not in doc["options"]
    side = json.loads(next((whole / "videos").rglob("*.json")).read_text())
    assert side["timing"] == {"mode": "default", "frames": None, "max_frames": 12}
    out = tmp_path / "paper"
    args = ["synth", "generate", "--out", str(out), "--classes", "single_object_falling_straight_down_without_changing_direction",
            "--train-per-class", "2", "--val-per-class", "0", "--size", "32", "--background", "plain",
            "--no-progress", "--timing", "paper"]
    assert main(args) == 0
    doc = json.loads((out / "synth.json").read_text())
    assert doc["timing"] == "paper" and doc["options"]["timing"] == "paper"
    sides = [json.loads(p.read_text()) for p in sorted((out / "videos").rglob("*.json"))]
    want = PAPER_FRAMES["single_object_falling_straight_down_without_changing_direction"]
    assert len(sides) == 2 and {s["view"] for s in sides} == {"elevated", "front"}
    for s in sides:
        assert s["num_frames"] == want[0] == len(s["frames"])
        assert s["timing"] == {"mode": "paper", "paper_frames_24fps": want[0], "source": want[1]}
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert {int(r["num_frames"]) for r in rows} == {want[0]}
    assert main([*args[:-2], "--timing", "default"]) == 2  # resuming with the other timing is refused
    assert "different timing" in capsys.readouterr().err
    assert main([*args, "--max-frames", "16"]) == 2  # paper lengths are not capped
    err = capsys.readouterr().err
    assert "--timing paper" in err and "Traceback" not in err


_ENCODE_IN_A_PROCESS = """
import sys, numpy as np
from tabench.synth.encode import encode_video
rng = np.random.default_rng(int(sys.argv[2]))
junk = [rng.bytes(int(n)) for n in rng.integers(1000, 400000, int(sys.argv[2]))]
del junk  # what the process allocated before must not change the video
frames = np.load(sys.argv[1])
encode_video(sys.argv[1] + sys.argv[2] + ".mp4", frames)
"""


def test_the_same_frames_encode_to_the_same_bytes_in_any_process(tmp_path):
    """docs/synth.md: a video's bytes do not depend on the worker, shard or run that made it (x264's
    AVX-512 code read uninitialised memory, so other processes gave other bytes)."""
    import subprocess
    import sys

    yy, xx = np.mgrid[0:112, 0:200]
    frames = np.empty((40, 112, 200, 4), np.uint8)
    for t in range(40):  # a smooth photo-like background and a square crossing it
        frames[t, ..., 0] = (128 + 60 * np.sin(xx / 13.0 + yy / 29.0)).astype(np.uint8)
        frames[t, ..., 1] = (120 + 50 * np.cos(yy / 7.0 - xx / 41.0)).astype(np.uint8)
        frames[t, ..., 2] = (xx + yy) % 256
        frames[t, 50:70, 4 * t:4 * t + 20, :3] = (200, 40, 30)
    src = tmp_path / "frames.npy"
    np.save(src, frames)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for noise in (0, 40, 150, 300):
        subprocess.run([sys.executable, "-c", _ENCODE_IN_A_PROCESS, str(src), str(noise)], check=True, env=env)
    videos = {(tmp_path / f"frames.npy{n}.mp4").read_bytes() for n in (0, 40, 150, 300)}
    assert len(videos) == 1


@gl
def test_sidecar_text_is_the_json_of_the_sidecar():
    """Sidecars are written by sidecar_text, which encodes an object entry shared by many frames (idle objects,
    still objects) once: its text must be json.dumps's, entry for entry, and read back to the same record."""
    from tabench.synth.backgrounds import load_pools
    from tabench.taxonomy import load

    tax = load("syn-ta")
    opts = G.Options(out="unused", background="plain", idle_objects=(4, 5))
    pools = load_pools("plain", None, lambda m: None)
    fine = next(f for f in tax.fine if f.slug == "single_object_falling_straight_down_without_changing_direction")
    vp = G.plan_video(G.Job(fine, "train", 0), opts, pools)
    clip = G.run_motion(vp, 24)
    from tabench.synth.idle import add_idle_objects
    from tabench.synth.scene import SET_SHAPES

    clip = add_idle_objects(clip, vp.camera, SET_SHAPES[fine.set], G._rng(vp.seed, G.STREAM_IDLE), (4, 5), 200, 112)
    doc = G.sidecar(tax, vp, clip, 200, 112, opts, {"passed": True})
    idle_ids = set(clip.params["idle"]["ids"])
    assert idle_ids and all(e is doc["frames"][0][k] for f in doc["frames"] for k, e in enumerate(f)
                            if e["id"] in idle_ids)  # shared entries: what sidecar_text encodes once
    text = G.sidecar_text(doc)
    assert text == json.dumps(doc, separators=(",", ":")) + "\n"
    assert json.loads(text) == json.loads(json.dumps(doc))
    assert G.sidecar_text({"a": 1}) == '{"a":1}\n' and G.sidecar_text({"frames": [[], []]}) == '{"frames":[[],[]]}\n'
