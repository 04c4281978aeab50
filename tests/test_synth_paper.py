"""The paper's Syn-TA naming: `synth generate --naming paper` writes the paper's video names and split files, and
`tabench import syn-ta --paper-root DIR` turns videos named that way back into the same dataset."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from tabench import TabenchError
from tabench.cli import main
from tabench.data.format import check_dataset, read_manifest
from tabench.synth import paper
from tabench.taxonomy import load

render_gl = pytest.importorskip("tabench.synth.render_gl")
_ok, _why = render_gl.gl_available()
gl = pytest.mark.skipif(not _ok, reason=f"no EGL context: {_why}")

TAX = load("syn-ta")
STAIRS = "single_object_imitating_the_motion_of_bouncing_and_going_down_stairs"  # Set 1, bouncing7
ARRIVING_ONE_BY_ONE = "multiple_objects_arriving_one_by_one"  # Set 2
TINY = ["--classes", f"{STAIRS},{ARRIVING_ONE_BY_ONE}", "--train-per-class", "4", "--val-per-class", "2",
        "--size", "32", "--max-frames", "6", "--background", "plain", "--no-progress", "--naming", "paper"]


def test_scheme_is_the_papers_csv_in_taxonomy_order():
    names = paper.scheme(TAX)
    assert len(names) == 100
    stairs = TAX.by_slug(STAIRS)
    assert names[stairs.set, stairs.id] == paper.PaperName("bouncing", 7)
    f = TAX.by_slug(ARRIVING_ONE_BY_ONE)
    rows = list(csv.DictReader(open(Path(paper.__file__).parents[1] / "taxonomy/data/synta_naming_scheme.csv")))
    row = [r for r in rows if r["Set"] == "2"][f.id]
    assert row["Fine Class"].lower() == f.name.lower() and names[f.set, f.id].number == int(row["Intra class no."])
    assert paper.parse_path("falling/falling3_front_id_7.mp4") == ("falling", 3, "front", 7)
    assert paper.parse_path("changing_color/changing_color2_id_31.mp4") == ("changing_color", 2, "elevated", 31)
    assert paper.parse_path("falling/falling3_id_7.avi") is None
    assert [paper.video_id("train", i) for i in range(4)] == [1, 1, 2, 2]
    assert paper.video_id("val", 0) == 31


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    if not _ok:
        pytest.skip(f"no EGL context: {_why}")
    out = tmp_path_factory.mktemp("paper") / "data"
    assert main(["synth", "generate", "--out", str(out), *TINY]) == 0
    return out


@gl
def test_naming_paper_writes_the_papers_names_and_split_files(generated):
    assert check_dataset(generated).ok
    paths = sorted(e.path for e in read_manifest(generated))
    assert paths == sorted(
        [f"bouncing/bouncing7{v}_id_{i}.mp4" for i in (1, 2, 31) for v in ("", "_front")]
        + [f"arriving/arriving{paper.scheme(TAX)[2, TAX.by_slug(ARRIVING_ONE_BY_ONE).id].number}{v}_id_{i}.mp4"
           for i in (1, 2, 31) for v in ("", "_front")])
    for e in read_manifest(generated):  # the view in the name is the one rendered
        assert e.meta["view"] == ("front" if "_front_" in e.path else "elevated")
    lines = (generated / "splits/coarse_classes/train_set1_coarse.txt").read_text().splitlines()
    coarse = TAX.by_slug(STAIRS).coarse_id
    assert lines == [f"bouncing/bouncing7_id_1.mp4 {coarse}", f"bouncing/bouncing7_front_id_1.mp4 {coarse}",
                     f"bouncing/bouncing7_id_2.mp4 {coarse}", f"bouncing/bouncing7_front_id_2.mp4 {coarse}"]
    fine = (generated / "splits/fine_classes/val_set1_fine.txt").read_text().splitlines()
    assert fine == [f"bouncing/bouncing7_id_31.mp4 {TAX.by_slug(STAIRS).id}",
                    f"bouncing/bouncing7_front_id_31.mp4 {TAX.by_slug(STAIRS).id}"]
    # tabench's own split files list the same videos with the same labels
    assert sorted((generated / "splits/train_set1_coarse.txt").read_text().splitlines()) == sorted(lines)


def test_naming_paper_refuses_what_it_cannot_name(tmp_path, capsys):
    assert main(["synth", "generate", "--out", str(tmp_path / "a"), *TINY, "--views", "elevated"]) == 2
    assert "both views" in capsys.readouterr().err
    assert main(["synth", "generate", "--out", str(tmp_path / "b"), *TINY, "--train-per-class", "62"]) == 2
    assert "ids 1-30" in capsys.readouterr().err


@gl
def test_import_syn_ta_reads_the_papers_naming_back(generated, tmp_path, capsys):
    root = tmp_path / "released"
    for p in generated.rglob("*.mp4"):
        rel = p.relative_to(generated)
        (root / "videos" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, root / "videos" / rel)
    (root / "videos/bouncing/notes.mp4").write_bytes(b"x")  # another name
    shutil.copy(next(generated.rglob("*.mp4")), root / "videos/bouncing/bouncing99_id_1.mp4")  # no such class
    out = tmp_path / "imported"
    assert main(["import", "syn-ta", "--paper-root", str(root), "--out", str(out)]) == 0
    assert check_dataset(out).ok
    key = lambda e: (e.path, e.set, e.split, e.coarse_id, e.fine_id)  # noqa: E731
    assert sorted(map(key, read_manifest(out))) == sorted(map(key, read_manifest(generated)))
    for folder in ("coarse_classes", "fine_classes"):
        for f in (generated / "splits" / folder).iterdir():
            assert (out / "splits" / folder / f.name).read_text() == f.read_text()
    import json

    rep = json.loads((out / "import_report.json").read_text())
    assert rep["other_names"] == ["videos/bouncing/notes.mp4"]
    assert rep["unknown_classes"] == ["videos/bouncing/bouncing99_id_1.mp4"]
    assert len(rep["classes_without_videos"]) == 98
    assert "12 videos of 2 classes imported" in capsys.readouterr().out
    with pytest.raises(TabenchError, match="no such folder"):
        paper.import_paper_root(tmp_path / "nowhere", tmp_path / "x")
