"""`tabench study background|size`: runs plus a report, resumable, built on synth generate and benchmark."""
from __future__ import annotations

import json
import os


os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tabench import cli  # noqa: E402

from test_train import make_tiny_dataset  # noqa: E402

FAST = ["--frames", "4", "--size", "32", "--batch-size", "4", "--epochs", "1", "--workers", "0", "--no-progress",
        "--set", "warmup_epochs=0", "--set", "tensorboard=false", "--set", "threads=1"]


def test_size_study_runs_each_model_and_reports_size_vs_hm(tmp_path):
    data = make_tiny_dataset(tmp_path / "data", train_per_class=2, val_per_class=1)
    out = tmp_path / "study"
    argv = ["study", "size", "--data", str(data), "--models", "r3d_tiny,rgbdiff_tiny", "--out", str(out)] + FAST
    assert cli.main(argv) == 0
    for m in ("r3d_tiny", "rgbdiff_tiny"):
        res = json.loads((out / "runs" / m / "results.json").read_text())
        assert res["model"] == m and len(res["directions"]) == 2
    assert "r3d_tiny" in (out / "report.md").read_text() and "rgbdiff_tiny" in (out / "report.md").read_text()
    assert (out / "report" / "figures" / "size_vs_hm.png").stat().st_size > 0
    stamps = {p: p.stat().st_mtime_ns for p in sorted((out / "runs").rglob("*.pt"))}
    assert len(stamps) >= 4  # two models x two directions
    assert cli.main(argv) == 0  # re-running resumes: both runs are finished, nothing is trained again
    assert stamps == {p: p.stat().st_mtime_ns for p in sorted((out / "runs").rglob("*.pt"))}


def test_background_study_generates_both_backgrounds_with_the_same_seed_and_counts(tmp_path, monkeypatch):
    import tabench.demo as D

    seen = []

    def generate(argv):  # stands in for `synth generate` (realistic photos cannot be fetched offline)
        seen.append(argv)
        out = argv[argv.index("--out") + 1]
        make_tiny_dataset(__import__("pathlib").Path(out), train_per_class=2, val_per_class=1)

    monkeypatch.setattr(D, "_run_command", generate)
    out = tmp_path / "study"
    assert cli.main(["study", "background", "--out", str(out), "--model", "r3d_tiny", "--train-per-class", "2",
                     "--val-per-class", "1", "--data-seed", "3"] + FAST) == 0
    bgs = [a[a.index("--background") + 1] for a in seen]
    assert bgs == ["realistic", "plain"]
    strip = lambda a: [x for i, x in enumerate(a) if not (i and a[i - 1] in ("--out", "--background"))]  # noqa: E731
    assert strip(seen[0]) == strip(seen[1])  # same seed, counts, size, frames
    assert "--no-progress" in seen[0]  # FAST has --no-progress: generation is quiet too
    assert seen[0][seen[0].index("--seed") + 1] == "3" and seen[0][seen[0].index("--train-per-class") + 1] == "2"
    for bg in ("realistic", "plain"):
        assert (out / "runs" / f"r3d_tiny-{bg}" / "results.json").is_file()
    assert (out / "report" / "index.html").is_file() and "Background study" in (out / "report.md").read_text()


def test_size_study_needs_two_known_models(tmp_path):
    assert cli.main(["study", "size", "--data", str(tmp_path), "--models", "r3d_tiny", "--out",
                     str(tmp_path / "s")]) == 2
    assert cli.main(["study", "size", "--data", str(tmp_path), "--models", "r3d_tiny,nope_model", "--out",
                     str(tmp_path / "s")]) == 2
