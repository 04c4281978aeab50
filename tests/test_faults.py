"""Fault injection: broken, truncated, missing videos and bad manifest rows are all named and none is scored;
bad settings and outputs are one-line errors. Real broken files: a half-truncated mp4 written with PyAV, random
bytes, a zero-byte file, a PNG named .mp4, a video shorter than its manifest row says."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tabench import TabenchError, cli, config  # noqa: E402
from tabench.data.format import open_dataset, read_manifest  # noqa: E402

from test_train import _write_mp4, make_tiny_dataset, tiny_config  # noqa: E402

BREAKERS = ("truncated", "random", "empty", "png", "missing", "short")


def break_video(path: Path, how: str) -> None:
    """Damage one real video file in place, the way files get damaged."""
    if how == "truncated":
        b = path.read_bytes()
        path.write_bytes(b[: len(b) // 2])
    elif how == "random":
        path.write_bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "png":
        from PIL import Image

        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(path, format="PNG")
    elif how == "missing":
        path.unlink()
    elif how == "short":  # a valid video with fewer frames than the manifest's num_frames column says
        _write_mp4(path, np.full((5, 32, 32, 3), 90, np.uint8))
    else:
        raise ValueError(how)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    root = make_tiny_dataset(tmp_path_factory.mktemp("faults") / "data", train_per_class=3, val_per_class=2)
    # a num_frames column, as Syn-TA writes it: the tiny clips have 12 frames
    lines = (root / "manifest.csv").read_text().splitlines()
    (root / "manifest.csv").write_text("\n".join([lines[0] + ",num_frames"] + [ln + ",12" for ln in lines[1:]]) + "\n")
    return root


def inject(clean: Path, dst: Path, n: int, seed: int, splits=("train", "val")) -> dict[str, str]:
    """Copy the dataset and damage `n` videos chosen at random: {path: how}."""
    shutil.copytree(clean, dst)
    rng = np.random.default_rng(seed)
    rows = [e.path for e in read_manifest(dst) if e.split in splits]
    chosen = rng.choice(len(rows), size=n, replace=False)
    broken = {}
    for k, i in enumerate(chosen):
        how = BREAKERS[k % len(BREAKERS)]
        break_video(dst / rows[i], how)
        broken[rows[i]] = how
    return broken


def test_data_check_names_every_injected_fault(clean, tmp_path, capsys):
    broken = inject(clean, tmp_path / "d", n=len(BREAKERS) * 2, seed=0)
    assert cli.main(["data", "check", str(tmp_path / "d"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    named = {p["path"]: p["kind"] for p in report["problems"]}
    assert set(named) == set(broken), (named, broken)  # all named, nothing else accused
    for path, how in broken.items():
        expected = {"missing": {"missing"}, "short": {"truncated"}, "truncated": {"truncated", "unreadable"}}
        assert named[path] in expected.get(how, {"unreadable"}), (path, how, named[path])
    assert all(set(p) == {"path", "kind", "detail"} for p in report["problems"])
    # the text form names them too, one per line, and --fast (headers only) still finds the unopenable ones
    assert cli.main(["data", "check", str(tmp_path / "d"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert all(p in err for p in broken)
    assert cli.main(["data", "check", str(tmp_path / "d"), "--fast", "--json"]) == 1
    fast = {p["path"] for p in json.loads(capsys.readouterr().out)["problems"]}
    assert {p for p, how in broken.items() if how in ("random", "empty", "png", "missing")} <= fast
    assert cli.main(["data", "check", str(clean)]) == 0


def test_benchmark_refuses_bad_videos_before_training(clean, tmp_path, capsys):
    broken = inject(clean, tmp_path / "d", n=2, seed=3)
    args = ["benchmark", "--data", str(tmp_path / "d"), "--model", "r3d_tiny", "--out", str(tmp_path / "run"),
            "--epochs", "1", "--frames", "4", "--size", "32", "--batch-size", "4", "--workers", "0",
            "--no-progress", "--set", "tensorboard=false", "--set", "threads=1"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "skip_corrupt" in err and "Traceback" not in err
    assert any(p in err for p in broken)
    assert not (tmp_path / "run" / "train1").exists()  # nothing trained
    # and the refused run is not tied to the settings it was refused with: the rerun the error suggests
    # (skip_corrupt: true, same --out) is not refused as "started with different settings"
    assert not (tmp_path / "run" / "benchmark.yaml").exists()


def test_skip_corrupt_leaves_out_every_bad_video_and_lists_it(clean, tmp_path):
    from tabench.protocol import run_benchmark
    from tabench.results import read_predictions

    n = 4
    broken = inject(clean, tmp_path / "d", n=n, seed=7)
    run = tmp_path / "run"
    res = run_benchmark(tiny_config(epochs=1, skip_corrupt=True), tmp_path / "d", run)
    listed = {p["path"] for v in res["skipped"].values() for p in v}
    assert listed == set(broken)
    files = [[p.path for p in read_predictions(run, k, kind)] for k in (1, 2) for kind in ("known", "unknown")]
    scored = [p for f in files for p in f]
    assert not set(scored) & set(broken)  # none scored
    assert all(len(f) == len(set(f)) for f in files)  # nothing scored twice (no neighbour substitution)
    vals = [e.path for e in read_manifest(clean) if e.split == "val"]
    assert len(scored) == 2 * len([p for p in vals if p not in broken])  # every val video once per direction
    stored = json.loads((run / "results.json").read_text())
    assert set(stored["skipped"]) == {"train_set1", "val_set1", "train_set2", "val_set2"}
    from tabench.report import build_tables, render  # the report says how many were left out
    assert f"left out (skip_corrupt): {n} unreadable videos" in render(build_tables([run]), "markdown")


@pytest.mark.parametrize("row, msg", [("../outside.mp4,1,train,0,0", "leaves the dataset root"),
                                      ("/etc/passwd,1,train,0,0", "absolute path"),
                                      ("videos/a.mp4,1,train,99,0", "coarse_id 99 is outside"),
                                      ("videos/a.mp4,1,train,1,0", "disagrees with the taxonomy"),
                                      (None, "duplicate path")])
def test_open_dataset_refuses_bad_rows(clean, tmp_path, row, msg):
    shutil.copytree(clean, tmp_path / "d")
    m = tmp_path / "d" / "manifest.csv"
    if row is None:  # a val row listed twice: that video would be scored twice
        row = next(ln for ln in m.read_text().splitlines() if ",val," in ln)
        m.write_text(m.read_text() + row + "\n")
    else:
        m.write_text(m.read_text() + row + ",12\n")
    with pytest.raises(TabenchError, match=msg):
        open_dataset(tmp_path / "d")


def test_symlinked_folder_out_of_the_root_is_refused(clean, tmp_path):
    shutil.copytree(clean, tmp_path / "d")
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "d" / "escape")
    m = tmp_path / "d" / "manifest.csv"
    m.write_text(m.read_text() + "escape/a.mp4,1,train,0,0,12\n")
    with pytest.raises(TabenchError, match="symlink out of the dataset root"):
        open_dataset(tmp_path / "d")


@pytest.mark.parametrize("flag, value, msg", [("--lr", "-1", "lr must be a positive number"),
                                              ("--lr", "nan", "lr must be a positive number"),
                                              ("--label-smoothing", "2", "label_smoothing must be between 0 and 1"),
                                              ("--weight-decay", "-1", "weight_decay must be a number >= 0"),
                                              ("--clip-grad", "-1", "clip_grad must be a number >= 0"),
                                              ("--warmup-epochs", "-1", "warmup_epochs must be a number >= 0"),
                                              ("--label-smoothing", "1", "label_smoothing must be between 0 and 1 "
                                                                         "(1 excluded)"),
                                              ("--workers", "-1", "workers must be an integer >= 0"),
                                              ("--seed", "-1", "seed must be an integer >= 0")])
def test_bad_setting_is_one_line_exit_2(clean, tmp_path, capsys, flag, value, msg):
    assert cli.main(["train", "--data", str(clean), "--out", str(tmp_path / "r"), flag, value]) == 2
    err = capsys.readouterr().err
    assert msg in err and len(err.strip().splitlines()) == 1


def test_outputs_never_clobber(clean, tmp_path, capsys):
    from tabench.protocol import run_benchmark

    f = tmp_path / "afile"
    f.write_text("x")
    base = ["--model", "r3d_tiny", "--epochs", "1", "--workers", "0", "--no-progress"]
    for cmd in ("train", "benchmark"):
        assert cli.main([cmd, "--data", str(clean), "--out", str(f)] + base) == 2
        assert "is a file" in capsys.readouterr().err
        assert cli.main([cmd, "--data", str(clean), "--out", str(clean)] + base) == 2
        assert "holds a syn-ta dataset" in capsys.readouterr().err
    assert cli.main(["train", "--data", str(clean), "--out", str(tmp_path / "nothing"), "--set",
                     "model_kwargs.bogus=1"] + base) == 2
    assert "has no argument 'bogus'" in capsys.readouterr().err
    # a run is tied to its dataset: the same --out on another dataset is refused
    run = tmp_path / "run"
    run_benchmark(tiny_config(epochs=1), clean, run)
    other = make_tiny_dataset(tmp_path / "other", train_per_class=3, val_per_class=2, seed=5)
    with pytest.raises(TabenchError, match="different dataset"):
        run_benchmark(tiny_config(epochs=1), other, run)
    with pytest.raises(TabenchError, match="different settings .*skip_corrupt"):
        run_benchmark(tiny_config(epochs=1, skip_corrupt=True), clean, run)
    with pytest.raises(TabenchError, match="different dataset"):
        from tabench.train import train
        train(tiny_config(epochs=1), other, 1, run / "train1", resume=True)


def test_a_run_that_saved_nothing_is_not_tied_to_the_settings_it_failed_with(clean, tmp_path, capsys):
    """A benchmark that failed building its model recorded its settings: the corrected rerun into the same --out
    was refused as "started with different settings". A run with a checkpoint still is."""
    from tabench.protocol import _check_same_config

    run = tmp_path / "run"
    args = ["benchmark", "--data", str(clean), "--out", str(run), "--model", "r3d_tiny", "--epochs", "1",
            "--frames", "4", "--size", "32", "--workers", "0", "--no-progress", "--set", "tensorboard=false"]
    assert cli.main(args + ["--set", "model_kwargs.bogus=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "has no argument 'bogus'" in err and len(err.splitlines()) == 1
    assert not run.exists()  # the refused command left no run folder behind
    run.mkdir()
    assert cli.main(args + ["--set", "model_kwargs.bogus=1"]) == 2  # into a folder that was there: it stays
    capsys.readouterr()
    assert run.is_dir()
    fixed = config.resolve(overrides=dict(model="r3d_tiny", epochs=1, frames=4, size=32))
    assert _check_same_config(run, fixed, clean, "coarse") is not None  # to be recorded, not refused
    (run / "train1").mkdir(exist_ok=True)
    (run / "train1" / "last.pt").write_bytes(b"")
    with pytest.raises(TabenchError, match="different settings"):
        _check_same_config(run, fixed, clean, "coarse")


def test_builders_and_generator_refuse_another_kind_of_output(clean, tmp_path):
    """A K400-TA build or a Syn-TA generation into a folder holding a different dataset, or a run, is refused
    before anything there changes."""
    from tabench.data._build_common import build
    from tabench.outputs import claim
    from tabench.taxonomy import load

    before = (clean / "manifest.csv").read_bytes()
    with pytest.raises(TabenchError, match="holds a syn-ta dataset"):
        build(load("k400-ta"), [], None, clean)
    assert (clean / "manifest.csv").read_bytes() == before
    claim(clean, "dataset", "syn-ta")  # the same kind: adding to it is fine
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "benchmark.yaml").write_text("level: coarse\n")
    with pytest.raises(TabenchError, match="holds a benchmark run"):
        claim(tmp_path / "run", "dataset", "syn-ta")


def test_regeneration_rerenders_a_truncated_video_and_the_manifest_only_grows(tmp_path):
    from test_synth_generate import _run, _videos, gl

    if gl.args[0]:  # no EGL context here
        pytest.skip(gl.kwargs["reason"])
    out = tmp_path / "data"
    assert _run(out) == 0
    videos = _videos(out)
    victim = sorted(videos)[1]
    whole = videos[victim].read_bytes()
    break_video(videos[victim], "truncated")  # a finished video truncated on disk is not "done"
    assert _run(out) == 0
    assert videos[victim].read_bytes() == whole  # rendered again, deterministically
    rows = (out / "manifest.csv").read_text().splitlines()
    assert _run(out, "--train-per-class", "1") == 0  # smaller counts: the manifest keeps the earlier rows
    assert (out / "manifest.csv").read_text().splitlines() == rows
    assert _run(out, "--train-per-class", "1", "--prune") == 0
    assert len((out / "manifest.csv").read_text().splitlines()) < len(rows)


def test_full_disk_is_one_line_naming_the_folder(tmp_path, monkeypatch):
    import errno

    from tabench.io import atomic_write_text

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(TabenchError, match=f"no space left on {tmp_path}"):
        atomic_write_text(tmp_path / "x.json", "{}")
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def _write_faststart_mp4(path: Path, n: int) -> None:
    """An mp4 whose index (moov) comes first, as web downloads are: cut short, it still opens, lists all `n`
    frames and decodes its first ones."""
    import av

    with av.open(str(path), "w", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx264", rate=24)
        s.width = s.height = 32
        s.pix_fmt = "yuv420p"
        rng = np.random.default_rng(0)
        for _ in range(n):
            c.mux(s.encode(av.VideoFrame.from_ndarray(rng.integers(0, 256, (32, 32, 3), np.uint8), format="rgb24")))
        c.mux(s.encode())


def test_builder_probe_finds_a_truncated_video_whose_header_is_intact(tmp_path):
    """Truncated on disk after its header: frame 0 still decodes, so a first-frame probe called it fine and the
    build linked it; the probe counts the frames in the file against the header's."""
    from tabench.data.video import VideoReader, check_readable, write_video

    from test_builders import clip_name, write_csv

    root = tmp_path / "kinetics400"
    write_csv(root / "annotations" / "train.csv", [["balloon blowing", "aaaaaaaaaaa", 0, 10, "train", 0],
                                                   ["balloon blowing", "ttttttttttt", 0, 10, "train", 0]])
    write_csv(root / "annotations" / "validate.csv", [["balloon blowing", "hhhhhhhhhhh", 0, 10, "val", 0]])
    write_video(root / "train" / clip_name("aaaaaaaaaaa", 0, 10), np.full((24, 32, 32, 3), 90, np.uint8))
    write_video(root / "val" / clip_name("hhhhhhhhhhh", 0, 10), np.full((24, 32, 32, 3), 90, np.uint8))
    cut = root / "train" / clip_name("ttttttttttt", 0, 10)
    _write_faststart_mp4(cut, 24)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    with VideoReader(cut) as r:
        assert r.info.num_frames == 24 and r.read([0]).shape[0] == 1  # the header and frame 0 are intact
    assert check_readable(cut).startswith("truncated: ")
    out = tmp_path / "k400ta"
    cli.main(["build", "k400-ta", "--kinetics-root", str(root), "--out", str(out), "--workers", "1"])
    rep = json.loads((out / "build_report.json").read_text())
    assert [u["path"] for u in rep["unreadable_videos"]] == [str(cut)]
    assert {Path(e.path).name for e in read_manifest(out)} == {clip_name("aaaaaaaaaaa", 0, 10),
                                                               clip_name("hhhhhhhhhhh", 0, 10)}


def test_classes_without_video_are_one_warning_line_per_split():
    """A subset (a few Syn-TA classes) printed one warning per empty class, hundreds of lines above the errors."""
    from tabench.commands.data import _grouped_warnings

    ws = [f"set 1 train: no video of fine class {i} 'c{i}'" for i in range(5, 53)] + ["something else"] + \
         ["set 2 val: no video of fine class 7 'x'"]
    assert _grouped_warnings(ws) == [
        "set 1 train: no video of 48 fine classes: 5 'c5', 6 'c6', 7 'c7' and 45 more", "something else",
        "set 2 val: no video of fine class 7 'x'"]


def test_full_disk_during_torch_save_is_one_line(tmp_path, monkeypatch):
    """torch.save's zip writer does not raise ENOSPC: a short write shows up as 'unexpected pos' (seen on a
    full tmpfs); with the disk full that is the one line, with room left the error is not hidden."""
    import shutil
    from collections import namedtuple

    import torch

    from tabench.train import save_checkpoint

    def short_write(obj, f, *a, **k):
        Path(f).write_bytes(b"PK" * 100)
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 13760 vs 13656")

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(torch, "save", short_write)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(600 << 10, 600 << 10, 0))
    with pytest.raises(TabenchError, match=f"no space left on {tmp_path} \\(writing last.pt\\)"):
        save_checkpoint(tmp_path / "last.pt", {"x": 1})
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(1 << 40, 0, 1 << 40))
    with pytest.raises(RuntimeError, match="unexpected pos"):
        save_checkpoint(tmp_path / "last.pt", {"x": 1})


class _NotTensors:
    def __reduce__(self):
        return (print, ("unpickled",))


def test_refused_checkpoint_is_one_short_line_naming_what_was_refused(tmp_path):
    """torch's weights_only refusal is a dozen lines with terminal colour codes; the error keeps the line that
    says what was refused."""
    import torch

    from tabench.models.weights import read_checkpoint

    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text("{}")
    torch.save({"state": _NotTensors()}, tmp_path / "hf" / "pytorch_model.bin")
    with pytest.raises(TabenchError) as e:
        read_checkpoint(tmp_path / "hf")
    msg = str(e.value)
    assert "\x1b" not in msg and "\n" not in msg and len(msg) < 300
    assert "weights_only loading refuses it: Unsupported global: GLOBAL builtins.print" in msg or \
        "weights_only loading refuses it: Unsupported global: GLOBAL print" in msg


def test_data_check_names_mis_sized_syn_ta_videos_and_bad_metadata_cells(clean, tmp_path, capsys):
    """A Syn-TA manifest has no width/height columns: its frame size comes from synth.json. A 64x36 video in a
    112-px dataset, and a num_frames cell that is not a number, are named (both were passed as OK before)."""
    from tabench.synth.generate import frame_size

    d = tmp_path / "d"
    shutil.copytree(clean, d)
    w, h = frame_size(32)
    rows = [e.path for e in read_manifest(d)]
    for rel in rows:
        _write_mp4(d / rel, np.full((12, h, w, 3), 90, np.uint8))
    (d / "synth.json").write_text(json.dumps({"generator": "tabench synth generate", "options": {"size": 32}}))
    assert cli.main(["data", "check", str(d), "--json"]) == 0
    capsys.readouterr()
    _write_mp4(d / rows[0], np.full((12, 36, 64, 3), 90, np.uint8))
    lines = (d / "manifest.csv").read_text().splitlines()
    bad_row = next(i for i, ln in enumerate(lines) if ln.split(",")[0] == rows[1])
    lines[bad_row] = lines[bad_row].rsplit(",", 1)[0] + ",twelve"
    (d / "manifest.csv").write_text("\n".join(lines) + "\n")
    assert cli.main(["data", "check", str(d), "--json"]) == 1
    named = {p["path"]: p for p in json.loads(capsys.readouterr().out)["problems"]}
    assert set(named) == {rows[0], rows[1]}, named
    assert named[rows[0]]["kind"] == "mis-sized" and "synth.json" in named[rows[0]]["detail"]
    assert named[rows[1]]["kind"] == "manifest" and "twelve" in named[rows[1]]["detail"]


BAD_SYNTH_JSON = {  # how synth.json gets damaged -> what `data check` and a resume must say about it
    b"": "is empty", b'{"generator": "tabench synth ge': "is not valid JSON",
    bytes(range(128, 256)): "is not text", b"[1, 2]": "holds an array, not a JSON object",
    b'{"generator": "tabench synth generate"}': "has no options object",
    b'{"options": {"seed": 0}}': "options.size is missing", b'{"options": {"size": "112"}}': "options.size is '112'",
    b'{"options": {"size": 4}}': "options.size is 4, not a number of pixels"}


def test_data_check_names_a_synth_json_that_gives_no_frame_size(clean, tmp_path, capsys):
    """A synth.json that is there but cannot be read or gives no usable options.size was skipped quietly (the
    Syn-TA frame-size check with it); now it is a finding naming the file and why, and training refuses it."""
    from tabench.data.integrity import verify_dataset

    d = tmp_path / "d"
    shutil.copytree(clean, d)
    for content, why in BAD_SYNTH_JSON.items():
        (d / "synth.json").write_bytes(content)
        assert cli.main(["data", "check", str(d), "--json"]) == 1, why
        problems = json.loads(capsys.readouterr().out)["problems"]
        assert [(p["path"], p["kind"]) for p in problems] == [("synth.json", "manifest")], (why, problems)
        assert str(d / "synth.json") in problems[0]["detail"] and why in problems[0]["detail"]
        assert "frame size cannot be checked" in problems[0]["detail"]
    assert cli.main(["data", "check", str(d), "--no-progress", "--no-files"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {d / 'synth.json'} options.size is 4, not a number of pixels from 32 to 1080; "
                   "the videos' frame size cannot be checked against it"]
    with pytest.raises(TabenchError, match="options.size is 4"):  # before training, cached verdicts or not
        verify_dataset(d, read_manifest(d), progress=False)
    (d / "synth.json").unlink()  # no synth.json (a K400-TA / SSv2-TA): no frame size to check, OK as before
    assert cli.main(["data", "check", str(d), "--json"]) == 0
    assert verify_dataset(d, read_manifest(d), progress=False) == []
    # verdicts cached without a frame size are not reused once synth.json gives one (the 32x32 clips are not 56x32)
    (d / "synth.json").write_text(json.dumps({"options": {"size": 32}}))
    problems = verify_dataset(d, read_manifest(d), progress=False)
    assert {p.kind for p in problems} == {"mis-sized"} and len(problems) == len(read_manifest(d))


def test_clips_too_short_for_a_class_are_refused_before_rendering(tmp_path, capsys):
    """`synth generate --frames 8` crashed after 235 of 500 videos on two projectiles shot one after the other."""
    out = tmp_path / "syn"
    args = ["synth", "generate", "--out", str(out), "--frames", "8", "--train-per-class", "1", "--val-per-class", "0",
            "--size", "32", "--background", "plain", "--no-progress", "--classes",
            "shooting_two_projectiles_from_same_position_to_opposite_corner,single_object_falling_straight_down_without_changing_direction"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Shooting two projectiles from same position" in err and "needs at least" in err
    assert not out.exists()  # refused before anything was written
    need = int(err.split("needs at least ")[1].split(";")[0])
    assert need > 8


def test_paper_timing_at_a_low_fps_is_refused_for_classes_it_makes_too_short(tmp_path, capsys):
    """--timing paper scales each class's paper length to --fps: at 2 fps two projectiles get 10 frames."""
    out = tmp_path / "syn"
    args = ["synth", "generate", "--out", str(out), "--timing", "paper", "--fps", "2", "--train-per-class", "1",
            "--val-per-class", "0", "--size", "32", "--background", "plain", "--no-progress", "--classes",
            "shooting_two_projectiles_from_same_position_to_opposite_corner"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--timing paper is too short" in err and "gets 10 frames at --fps 2" in err
    assert not out.exists()
