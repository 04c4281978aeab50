"""Dataset directory format, `tabench data check`, results format and `tabench report`."""
import json
from pathlib import Path

import pytest

from tabench import TabenchError, taxonomy
from tabench.cli import main
from tabench.data.format import VideoEntry, check_dataset, open_dataset, read_split, write_dataset
from tabench.results import Prediction, load_run, write_predictions, write_results


def make_dataset(root: Path, per_class=1):
    tax = taxonomy.load("syn-ta")
    entries = []
    for f in tax.fine:
        for split in ("train", "val"):
            for i in range(per_class):
                rel = f"videos/{f.slug}/{split}_{i:04d}.mp4"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(b"\0")
                entries.append(VideoEntry(rel, f.set, split, f.coarse_id, f.id, {"view": "front"}))
    write_dataset(root, tax, entries)
    return tax, entries


def test_write_and_read_round_trip(tmp_path):
    tax, entries = make_dataset(tmp_path)
    ds = open_dataset(tmp_path)
    assert ds.taxonomy == tax
    assert len(ds.entries) == 200 and ds.entries[0].meta == {"view": "front"}
    header = (tmp_path / "manifest.csv").read_text().splitlines()[0]
    assert header == "path,set,split,coarse_id,fine_id,view"
    lines = read_split(tmp_path / "splits" / "train_set2_fine.txt")
    assert len(lines) == 47 and lines[0] == ("videos/multiple_objects_all_appearing_one_by_one_by_increasing_opacity/train_0000.mp4", 0)
    coarse = read_split(tmp_path / "splits" / "val_set1_coarse.txt")
    assert {label for _, label in coarse} == set(range(20))
    rep = check_dataset(tmp_path)
    assert rep.ok, rep.errors
    assert rep.counts == {"train_set1": 53, "train_set2": 47, "val_set1": 53, "val_set2": 47}


def test_check_reports_every_kind_of_problem(tmp_path, capsys):
    make_dataset(tmp_path)
    (tmp_path / "videos/single_object_arriving/val_0000.mp4").unlink()
    man = (tmp_path / "manifest.csv").read_text().splitlines()
    man.append(man[1])  # duplicate path
    man.append("videos/x.mp4,1,train,3,0,front")  # coarse id disagrees with the taxonomy (fine 0 is coarse 0)
    (tmp_path / "videos/x.mp4").write_bytes(b"\0")
    (tmp_path / "manifest.csv").write_text("\n".join(man) + "\n")
    split = tmp_path / "splits/train_set1_fine.txt"
    split.write_text(split.read_text() + "videos/y.mp4 99\n")
    rep = check_dataset(tmp_path)
    text = "\n".join(rep.errors)
    assert "missing video: videos/single_object_arriving/val_0000.mp4" in text
    assert "duplicate path" in text
    assert "coarse_id 3 disagrees with the taxonomy" in text
    assert "label 99 of videos/y.mp4 is outside the taxonomy" in text
    assert "videos/x.mp4 is in manifest.csv but not in the split" in text
    assert main(["data", "check", str(tmp_path), "--max-errors", "500"]) == 1
    assert "error: videos/single_object_arriving/val_0000.mp4: missing (no such file)" in capsys.readouterr().err


def test_malformed_manifest_is_a_clear_error(tmp_path, capsys):
    make_dataset(tmp_path)
    (tmp_path / "manifest.csv").write_text("file,label\nvideos/a.mp4,3\n")
    with pytest.raises(TabenchError, match="header must start with path,set,split,coarse_id,fine_id"):
        open_dataset(tmp_path)
    (tmp_path / "manifest.csv").write_text("path,set,split,coarse_id,fine_id\nvideos/a.mp4,1,train,three,0\n")
    with pytest.raises(TabenchError, match=r"manifest.csv:2: set, coarse_id and fine_id must be integers"):
        open_dataset(tmp_path)
    assert main(["data", "check", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "must be integers" in err and "Traceback" not in err
    assert main(["data", "check", str(tmp_path / "nope")]) == 1


def write_run(run: Path, known1, unknown1, known2, unknown2, n=100, model="x3d_xs", dataset="syn-ta", level="coarse"):
    for train_set, kind, acc in ((1, "known", known1), (1, "unknown", unknown1), (2, "known", known2), (2, "unknown", unknown2)):
        correct = round(acc * n / 100)
        write_predictions(run, train_set, kind, [Prediction(f"v{i}.mp4", i % 20, i % 20 if i < correct else (i + 1) % 20) for i in range(n)])
    return write_results(run, dataset, model, level)


def test_results_are_derived_from_predictions(tmp_path):
    res = write_run(tmp_path / "run", 80, 40, 70, 35)
    assert set(res) == {"dataset", "model", "level", "directions", "mean"}
    assert [d["train_set"] for d in res["directions"]] == [1, 2]
    assert res["directions"][0]["hm"] == pytest.approx(2 * 80 * 40 / 120)
    assert res["mean"]["dabs"] == pytest.approx(37.5)
    header = (tmp_path / "run/predictions/train2_unknown.csv").read_text().splitlines()[0]
    assert header == "path,true,pred"
    assert load_run(tmp_path / "run")["mean"] == res["mean"]


def test_report_refuses_runs_that_disagree_with_predictions(tmp_path, capsys):
    write_run(tmp_path / "run", 80, 40, 70, 35)
    data = json.loads((tmp_path / "run/results.json").read_text())
    data["directions"][0]["unknown"] = 60.0
    (tmp_path / "run/results.json").write_text(json.dumps(data))
    assert main(["report", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "refusing this run" in err and "unknown=60.0" in err


def test_report_table_formats(tmp_path, capsys):
    write_run(tmp_path / "a", 80, 40, 70, 35, model="x3d_xs")
    write_run(tmp_path / "b", 90, 30, 90, 50, model="r3d_tiny")
    write_run(tmp_path / "c", 60, 30, 50, 20, model="x3d_xs", dataset="ssv2-ta")
    write_run(tmp_path / "d", 60, 20, 40, 20, model="vt_minilm", level="fine")
    runs = [str(tmp_path / r) for r in "abcd"]
    assert main(["report", *runs, "--out", str(tmp_path / "rep")]) == 0
    md = capsys.readouterr().out
    assert "| Model | syn-ta Known | syn-ta Unknown | syn-ta Dabs | syn-ta Drel | syn-ta HM | ssv2-ta Known" in md
    row = next(l for l in md.splitlines() if l.startswith("| x3d_xs |"))
    # mean of per-direction values: HM (53.33 + 46.67) / 2, then the ssv2-ta group
    assert row == "| x3d_xs | 75.00 | 37.50 | 37.50 | 50.00 | 50.00 | 55.00 | 25.00 | 30.00 | 55.00 | 34.29 |"
    assert "| r3d_tiny | 90.00 | 40.00 | 50.00 | 55.56 | 54.64 | - | - | - | - | - |" in md
    assert "Fine motions" in md and "| vt_minilm | 50.00 | 20.00 |" in md
    assert (tmp_path / "rep/report.md").read_text().strip() == md.strip()
    assert main(["report", *runs, "--format", "csv"]) == 0
    csv_text = capsys.readouterr().out
    assert csv_text.splitlines()[0] == "table,model,group,known,unknown,dabs,drel,hm"
    assert main(["report", *runs, "--format", "latex"]) == 0
    assert r"\begin{tabular}" in capsys.readouterr().out
    assert main(["report", *runs, "--format", "json", "--per-set"]) == 0
    tables = json.loads(capsys.readouterr().out)
    assert tables[0]["groups"] == ["Set 1", "Set 2"]
    assert tables[0]["rows"][0]["values"]["Set 2"]["known"] == pytest.approx(70.0)


def test_atomic_writes_are_readable_like_ordinary_files(tmp_path):
    """Every atomic write (manifests, results, checkpoints, videos) ends up 0644 minus the umask, not 0600."""
    import os

    from tabench.io import atomic_path, atomic_write_json

    mask = os.umask(0)
    os.umask(mask)
    atomic_write_json(tmp_path / "results.json", {"a": 1})
    with atomic_path(tmp_path / "clip.mp4", suffix=".mp4") as tmp:
        tmp.write_bytes(b"x")
    for f in ("results.json", "clip.mp4"):
        assert (tmp_path / f).stat().st_mode & 0o777 == 0o644 & ~mask, f
