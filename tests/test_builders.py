"""K400-TA and SSv2-TA builders on small trees in the official formats, written here with real videos."""
import csv
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest

from tabench import TabenchError
from tabench.cli import main
from tabench.data.clips import ClipDataset
from tabench.data.format import check_dataset, read_manifest
from tabench.data.video import write_video
from tabench.taxonomy import load

K400_HEADER = ["label", "youtube_id", "time_start", "time_end", "split", "is_cc"]


def frames(n=6, h=32, w=32, value=100):
    return np.full((n, h, w, 3), value, np.uint8)


def write_csv(path, rows, header=K400_HEADER):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def clip_name(yid, t0, t1, ext=".mp4"):
    return f"{yid}_{t0:06d}_{t1:06d}{ext}"


@pytest.fixture()
def kinetics(tmp_path):
    """Both layouts: flat CVDF train/ and val/, plus per-class train folders (underscores and spaces)."""
    root = tmp_path / "kinetics400"
    rows_train = [
        ["balloon blowing", "aaaaaaaaaaa", 10, 20, "train", 0],  # flat layout
        ["passing American football (in game)", "bbbbbbbbbbb", 0, 10, "train", 0],  # class folder, underscores
        ["punching person (boxing)", "ccccccccccc", 5, 15, "train", 0],  # class folder, spaces; webm
        ["balloon blowing", "ddddddddddd", 30, 40, "train", 0],  # missing file
        ["balloon blowing", "eeeeeeeeeee", 1, 11, "train", 0],  # corrupt file
        ["abseiling", "fffffffffff", 0, 10, "train", 0],  # official class outside K400-TA
        ["flying carpet", "ggggggggggg", 0, 10, "train", 0],  # not a Kinetics-400 class at all
        ["balloon blowing", "aaaaaaaaaaa", 10, 20, "train", 0],  # duplicated row
    ]
    rows_val = [["balloon blowing", "hhhhhhhhhhh", 3, 13, "val", 1],
                ["massaging person's head", "iiiiiiiiiii", 0, 10, "val", 0]]
    write_csv(root / "annotations" / "train.csv", rows_train)
    write_csv(root / "annotations" / "validate.csv", rows_val)
    write_video(root / "train" / clip_name("aaaaaaaaaaa", 10, 20), frames())
    write_video(root / "train" / "passing_American_football_(in_game)" / clip_name("bbbbbbbbbbb", 0, 10), frames())
    write_video(root / "train" / "punching person (boxing)" / clip_name("ccccccccccc", 5, 15, ".webm"), frames())
    (root / "train" / clip_name("eeeeeeeeeee", 1, 11)).write_bytes(b"this is not a video" * 50)
    write_video(root / "train" / "abseiling" / clip_name("fffffffffff", 0, 10), frames())
    write_video(root / "val" / clip_name("hhhhhhhhhhh", 3, 13), frames(value=50))
    write_video(root / "val" / "massaging_person's_head" / clip_name("iiiiiiiiiii", 0, 10, ".mkv"), frames())
    return root


def test_k400_small_tree_report_and_dataset(kinetics, tmp_path, capsys):
    out = tmp_path / "k400ta"
    before = {p: p.read_bytes() for p in kinetics.rglob("*") if p.is_file()}
    code = main(["build", "k400-ta", "--kinetics-root", str(kinetics), "--out", str(out), "--workers", "2"])
    assert code == 1  # most of the 205 classes have no video
    rep = json.loads((out / "build_report.json").read_text())
    assert rep["dataset_written"] and not rep["ok"]
    assert rep["totals"]["videos"] == 5
    assert [m["video"] for m in rep["missing_videos"]] == ["ddddddddddd_000030_000040"]
    assert len(rep["unreadable_videos"]) == 1 and rep["unreadable_videos"][0]["path"].endswith("eeeeeeeeeee_000001_000011.mp4")
    assert rep["labels_not_in_dataset"] == {"abseiling": 1}
    assert rep["unknown_labels"] == {"flying carpet": 1}
    assert len(rep["duplicate_annotations"]) == 1
    # every annotation is accounted for
    t = rep["totals"]
    assert t["annotations"] == t["videos"] + t["not_in_dataset"] + t["unknown_labels"] + t["missing_videos"] \
        + t["unreadable_videos"] + t["duplicate_annotations"] == 10
    by_name = {c["name"]: c for c in rep["classes"]}
    assert by_name["balloon blowing"]["train"] == 1 and by_name["balloon blowing"]["val"] == 1
    assert by_name["punching person (boxing)"]["train"] == 1
    assert len(rep["empty_classes"]) > 0
    printed = capsys.readouterr().out
    assert "ddddddddddd_000030_000040" in printed and "flying carpet" in printed

    assert check_dataset(out).ok
    entries = read_manifest(out)
    tax = load("k400-ta")
    for e in entries:
        fine = tax.fine_class(e.set, e.fine_id)
        assert fine.source_label == e.meta["source_label"] and e.coarse_id == fine.coarse_id
        assert e.path == f"videos/{fine.slug}/{os.path.basename(e.meta['source_path'])}"
        assert (out / e.path).is_symlink()
    splits = {e.meta["youtube_id"]: e.split for e in entries}
    assert splits == {"aaaaaaaaaaa": "train", "bbbbbbbbbbb": "train", "ccccccccccc": "train",
                      "hhhhhhhhhhh": "val", "iiiiiiiiiii": "val"}
    # sources untouched
    assert {p: p.read_bytes() for p in kinetics.rglob("*") if p.is_file()} == before
    # and the clips load through the links
    val_set = tax.by_source_label()["balloon blowing"].set
    ds = ClipDataset(out, set_id=val_set, split="val", num_frames=2, size=16, train=False)
    assert ds[0]["video"].shape == (3, 2, 16, 16)


def test_k400_strict_fails_and_writes_only_the_report(kinetics, tmp_path, capsys):
    out = tmp_path / "strict"
    code = main(["build", "k400-ta", "--kinetics-root", str(kinetics), "--out", str(out), "--strict", "--workers", "1"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("tabench: error: --strict:") and "1 missing videos" in err and len(err.strip().splitlines()) == 1
    assert (out / "build_report.json").is_file() and not (out / "manifest.csv").exists()


@pytest.mark.parametrize("mode", ["copy", "hardlink"])
def test_k400_link_modes(kinetics, tmp_path, mode):
    out = tmp_path / mode
    main(["build", "k400-ta", "--kinetics-root", str(kinetics), "--out", str(out), "--link", mode, "--no-probe"])
    e = [e for e in read_manifest(out) if e.meta["youtube_id"] == "aaaaaaaaaaa"][0]
    dst, src = out / e.path, kinetics / "train" / clip_name("aaaaaaaaaaa", 10, 20)
    assert not dst.is_symlink() and dst.read_bytes() == src.read_bytes()
    assert os.path.samefile(dst, src) == (mode == "hardlink")
    # without the probe, the corrupt file is linked (and reported at training time instead)
    rep = json.loads((out / "build_report.json").read_text())
    assert rep["probed"] is False and rep["unreadable_videos"] == []


def test_k400_malformed_annotations(tmp_path, capsys):
    root = tmp_path / "k"
    write_csv(root / "train.csv", [["x", "y"]], header=["name", "video"])
    write_csv(root / "val.csv", [])
    assert main(["build", "k400-ta", "--kinetics-root", str(root), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "train.csv" in err and "header" in err and len(err.splitlines()) == 1
    (root / "train.csv").unlink()
    with pytest.raises(TabenchError, match="train.csv"):
        from tabench.data.build_k400 import build_k400_ta
        build_k400_ta(root, tmp_path / "o")


def test_k400_full_class_set(tmp_path):
    """One train and one val clip for each of the 205 K400-TA classes (plus one other class) -> the paper's sets."""
    root = tmp_path / "kin"
    real = root / "_real.mp4"
    write_video(real, frames(3, 16, 16))
    rows = {"train": [], "val": []}
    classes = [f.source_label for f in load("k400-ta").fine] + ["abseiling"]
    for split in rows:
        for k, label in enumerate(classes):
            yid = f"{split[:2]}{k:09d}"
            rows[split].append([label, yid, 0, 10, split, 0])
            (root / split).mkdir(parents=True, exist_ok=True)
            os.symlink(real, root / split / clip_name(yid, 0, 10))
    write_csv(root / "train.csv", rows["train"])
    write_csv(root / "validate.csv", rows["val"])
    out = tmp_path / "out"
    assert main(["build", "k400-ta", "--kinetics-root", str(root), "--out", str(out), "--workers", "2"]) == 0
    rep = json.loads((out / "build_report.json").read_text())
    assert rep["ok"] and rep["totals"]["videos"] == 410 and rep["labels_not_in_dataset"] == {"abseiling": 2}
    assert {s: (v["fine_classes"], v["coarse_classes"], v["train"], v["val"]) for s, v in rep["sets"].items()} == \
        {"1": (111, 41, 111, 111), "2": (94, 41, 94, 94)}
    chk = check_dataset(out)
    assert chk.ok and not chk.warnings


# ------------------------------------------------------------------ SSv2
def ssv2_entry(vid, template, objects=("a cup", "a box")):
    n = template.count("[")
    label = template
    for o in objects[:n]:
        label = label.replace("[something]", o, 1)
    return {"id": str(vid), "label": label.replace("[", "").replace("]", ""), "template": template,
            "placeholders": list(objects[:n])}


def bracketed(name):
    return name.replace("something", "[something]")


@pytest.fixture()
def ssv2(tmp_path):
    root = tmp_path / "ssv2"
    ann = root / "annotations"
    ann.mkdir(parents=True)
    from tabench.taxonomy import official_labels
    (ann / "labels.json").write_text(json.dumps({t: str(i) for i, t in enumerate(sorted(official_labels("ssv2-ta")))}))
    train = [ssv2_entry(1, "Bending [something] so that it deforms"),
             ssv2_entry(2, "Dropping [something] behind [something]"),
             ssv2_entry(3, "Dropping [something] behind [something]"),  # missing video
             ssv2_entry(4, "Approaching [something] with your camera"),  # official, not in SSv2-TA
             ssv2_entry(5, "Juggling [something] with [something]"),  # not an SSv2 template
             ssv2_entry(6, "Bending [something] so that it deforms")]  # corrupt video
    val = [ssv2_entry(7, "Bending [something] so that it deforms")]
    (ann / "train.json").write_text(json.dumps(train))
    (ann / "validation.json").write_text(json.dumps(val))
    (ann / "test.json").write_text(json.dumps([{"id": "99"}]))
    vids = root / "20bn-something-something-v2"
    for vid in (1, 2, 4, 5, 7):
        write_video(vids / f"{vid}.webm", frames(value=20 * vid), fps=12)
    (vids / "6.webm").write_bytes(b"\x1aE\xdf\xa3" + b"\x00" * 300)
    return root


def test_ssv2_small_tree(ssv2, tmp_path):
    out = tmp_path / "ssv2ta"
    assert main(["build", "ssv2-ta", "--ssv2-root", str(ssv2), "--out", str(out), "--workers", "2"]) == 1
    rep = json.loads((out / "build_report.json").read_text())
    assert rep["totals"]["videos"] == 3
    assert [m["video"] for m in rep["missing_videos"]] == ["3"]
    assert [u["path"].endswith("6.webm") for u in rep["unreadable_videos"]] == [True]
    assert rep["labels_not_in_dataset"] == {"Approaching something with your camera": 1}
    assert rep["unknown_labels"] == {"Juggling something with something": 1}
    assert rep["source"]["labels_in_labels_file"] == 174
    assert check_dataset(out).ok
    entries = {e.meta["video_id"]: e for e in read_manifest(out)}
    assert set(entries) == {"1", "2", "7"} and entries["7"].split == "val"
    tax = load("ssv2-ta")
    f = tax.by_source_label()["Bending something so that it deforms"]
    assert (entries["1"].set, entries["1"].fine_id, entries["1"].coarse_id) == (f.set, f.id, f.coarse_id)
    assert entries["1"].path == f"videos/{f.slug}/1.webm" and entries["1"].meta["ssv2_label"] == "Bending a cup so that it deforms"
    ds = ClipDataset(out, set_id=f.set, split="train", level="fine", num_frames=4, size=16, train=False)
    assert ds[0]["video"].shape == (3, 4, 16, 16)


def test_ssv2_full_class_set_long_names(tmp_path):
    root = tmp_path / "s"
    real = root / "real.webm"
    write_video(real, frames(3, 16, 16), fps=12)
    tax = load("ssv2-ta")
    data = {"train": [], "validation": []}
    vid = 0
    for kind in data:
        for f in tax.fine:
            vid += 1
            data[kind].append(ssv2_entry(vid, bracketed(f.source_label)))
            (root / "20bn-something-something-v2").mkdir(parents=True, exist_ok=True)
            os.symlink(real, root / "20bn-something-something-v2" / f"{vid}.webm")
    for kind, items in data.items():
        (root / f"something-something-v2-{kind}.json").write_text(json.dumps(items))
    (root / "train.json").write_text(json.dumps([]))  # the long name wins over a stray short one
    out = tmp_path / "out"
    assert main(["build", "ssv2-ta", "--ssv2-root", str(root), "--out", str(out), "--workers", "2"]) == 0
    rep = json.loads((out / "build_report.json").read_text())
    assert rep["ok"] and rep["totals"]["videos"] == 298
    assert {s: (v["fine_classes"], v["coarse_classes"], v["train"], v["val"]) for s, v in rep["sets"].items()} == \
        {"1": (81, 26, 81, 81), "2": (68, 26, 68, 68)}
    chk = check_dataset(out)
    assert chk.ok and not chk.warnings


def test_ssv2_malformed_annotations(ssv2, tmp_path, capsys):
    (ssv2 / "annotations" / "validation.json").write_text("{not json")
    assert main(["build", "ssv2-ta", "--ssv2-root", str(ssv2), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "validation.json" in err and "not valid JSON" in err and len(err.splitlines()) == 1


def test_out_must_not_be_an_unrelated_folder(ssv2, tmp_path):
    other = tmp_path / "stuff"
    other.mkdir()
    (other / "thesis.tex").write_text("x")
    with pytest.raises(TabenchError, match="not a tabench dataset"):
        from tabench.data.build_ssv2 import build_ssv2_ta
        build_ssv2_ta(ssv2, other)


def test_k400_paper_splits_select_exactly_the_papers_videos_and_report_the_missing(kinetics, tmp_path, capsys):
    """--paper-splits DIR (the paper's dataset_splits/): only the listed videos, in their split; the ones the
    user's copy lacks are reported (not annotated, missing file)."""
    splits = tmp_path / "dataset_splits" / "k400_ta" / "coarse_classes"
    splits.mkdir(parents=True)
    (splits / "train_set1_coarse.txt").write_text(
        f"train/{clip_name('aaaaaaaaaaa', 10, 20)} 3\ntrain/{clip_name('ddddddddddd', 30, 40)} 3\n"
        f"train/{clip_name('zzzzzzzzzzz', 0, 10)} 3\n")  # listed, file missing; listed, not in the user's CSVs
    (splits / "val_set1_coarse.txt").write_text(f"val/{clip_name('hhhhhhhhhhh', 3, 13)} 3\n")
    (splits / "train_set2_coarse.txt").write_text("")
    out = tmp_path / "k400ta"
    main(["build", "k400-ta", "--kinetics-root", str(kinetics), "--out", str(out), "--paper-splits",
          str(tmp_path / "dataset_splits")])
    ids = sorted((e.split, e.meta["youtube_id"]) for e in read_manifest(out))
    assert ids == [("train", "aaaaaaaaaaa"), ("val", "hhhhhhhhhhh")]  # the others are not in the paper's splits
    rep = json.loads((out / "build_report.json").read_text())["paper_splits"]
    assert rep["listed"] == 4 and rep["selected"] == 2
    assert rep["not_in_annotations"] == ["zzzzzzzzzzz_000000_000010"]
    assert rep["missing_videos"] == ["ddddddddddd_000030_000040"]
    assert "your copy lacks 2" in capsys.readouterr().out
    assert main(["build", "k400-ta", "--kinetics-root", str(kinetics), "--out", str(tmp_path / "x"),
                 "--paper-splits", str(tmp_path / "nothing")]) == 2
