"""`tabench report --html`: per-class and confusion analyses, the figures, the page, and the page in a browser."""
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from tabench import taxonomy
from tabench.analysis import load_analysis_run, per_class, top_confusions
from tabench.cli import main
from tabench.data.format import VideoEntry, write_dataset
from tabench.data.video import write_video
from tabench.results import Prediction, write_predictions, write_results

TAX = taxonomy.load("syn-ta")


def make_data(root: Path) -> list[VideoEntry]:
    """A Syn-TA-shaped dataset with one real (tiny) val video per fine class."""
    entries = []
    rng = np.random.default_rng(0)
    for f in TAX.fine:
        rel = f"videos/set{f.set}/{f.slug}/val_0000.mp4"
        write_video(root / rel, rng.integers(0, 255, (8, 32, 48, 3), dtype=np.uint8), fps=8)
        entries.append(VideoEntry(rel, f.set, "val", f.coarse_id, f.id))
    write_dataset(root, TAX, entries)
    return entries


def predict(entries, set_id, level, wrong):
    """Predictions for Set `set_id`'s val videos: correct, except videos of coarse classes in `wrong`
    (a dict coarse id -> predicted coarse id; at the fine level, predicted as the first fine class of it)."""
    out = []
    for e in (e for e in entries if e.set == set_id):
        if level == "coarse":
            out.append(Prediction(e.path, e.coarse_id, wrong.get(e.coarse_id, e.coarse_id)))
        else:
            target = wrong.get(e.coarse_id)
            pred = e.fine_id if target is None else next(f.id for f in TAX.fine_of_set(set_id) if f.coarse_id == target)
            out.append(Prediction(e.path, e.fine_id, pred))
    return out


def make_run(run: Path, data: Path, entries, model: str, level: str = "coarse", unknown_wrong=None) -> dict:
    unknown_wrong = {0: 1, 1: 2, 2: 0, 3: 0} if unknown_wrong is None else unknown_wrong
    for s in (1, 2):
        write_predictions(run, s, "known", predict(entries, s, level, {5: 6}))
        write_predictions(run, s, "unknown", predict(entries, 3 - s, level, unknown_wrong))
    return write_results(run, "syn-ta", model, level, extra={"data": str(data)})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    entries = make_data(root / "data")
    make_run(root / "coarse", root / "data", entries, "vt_minilm_tiny")
    make_run(root / "fine", root / "data", entries, "vt_minilm_tiny", level="fine")
    make_run(root / "cnn", root / "data", entries, "rgbdiff_tiny", unknown_wrong={0: 1})
    return root


class Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.text = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href"):
            if a.get(key):
                self.refs.append((tag, a[key]))

    def handle_data(self, data):
        self.text.append(data)


def parse(index: Path) -> Refs:
    p = Refs()
    p.feed(index.read_text(encoding="utf-8"))
    return p


def test_per_class_known_vs_unknown_sorted_by_drop(runs):
    run = load_analysis_run(runs / "coarse")
    rows = per_class(run, "coarse")
    by = {r.name: r for r in rows}
    names = TAX.coarse_names()
    # unknown context: coarse 0-3 always wrong; known context: coarse 5 always wrong
    for c in range(4):
        assert (by[names[c]].known, by[names[c]].unknown) == (100.0, 0.0)
    assert (by[names[5]].known, by[names[5]].unknown) == (0.0, 100.0)
    assert by[names[4]].drop == 0.0
    assert [r.drop for r in rows] == sorted((r.drop for r in rows), reverse=True)
    n0 = sum(1 for f in TAX.fine if f.coarse_id == 0)
    assert (by[names[0]].n_known, by[names[0]].n_unknown) == (n0, n0)  # every video once per context
    fine = per_class(run, "fine")
    assert len(fine) == len(TAX.fine)
    f0 = next(r for r in fine if r.coarse == names[0])
    assert (f0.known, f0.unknown, f0.n_known, f0.n_unknown) == (100.0, 0.0, 1, 1)


def test_fine_runs_map_to_coarse_classes(runs):
    run = load_analysis_run(runs / "fine")
    names = TAX.coarse_names()
    by = {r.name: r for r in per_class(run, "coarse")}
    assert (by[names[0]].known, by[names[0]].unknown) == (100.0, 0.0)
    # set 1's model on set 2 val: coarse 0 -> 1, 1 -> 2, 2 -> 0, 3 -> 0
    top = top_confusions(run, 1, "unknown", examples=2)
    pairs = {(c.true, c.pred): c for c in top}
    assert set(pairs) == {(names[0], names[1]), (names[1], names[2]), (names[2], names[0]), (names[3], names[0])}
    c = pairs[(names[0], names[1])]
    assert c.count == sum(1 for f in TAX.fine_of_set(2) if f.coarse_id == 0) and c.share == 100.0
    assert len(c.examples) == min(2, c.count) and all(p.startswith("videos/set2/") for p in c.examples)


@pytest.fixture(scope="module")
def report(runs):
    out = runs / "html"
    assert main(["report", str(runs / "coarse"), str(runs / "fine"), str(runs / "cnn"), "--html", str(out),
                 "--examples", "1"]) == 0
    return out


def test_html_report_writes_every_figure_and_table(report):
    out = report
    figs = out / "figures"
    expected = {"drop.png", "coarse_vs_fine.png", "size_vs_hm.png"}
    expected |= {f"per_class_{r}.png" for r in ("coarse", "fine", "cnn")}
    expected |= {f"confusion_{r}_train{s}_{k}.png" for r in ("coarse", "fine", "cnn") for s in (1, 2)
                 for k in ("known", "unknown")}
    assert expected <= {p.name for p in figs.iterdir()}
    from PIL import Image

    with Image.open(figs / "confusion_coarse_train1_known.png") as im:  # big enough for 20 class names
        assert im.width > 600 and im.height > 600
    page = parse(out / "index.html")
    local = [r for _, r in page.refs if not r.startswith("file:")]
    assert local and not [r for r in local if re.match(r"[a-z]+://", r)], "no network references"
    for ref in local:
        assert (out / ref).is_file() and (out / ref).stat().st_size > 0, ref
    assert {f"figures/{n}" for n in expected} <= set(local)
    examples = [r for r in local if r.startswith("examples/")]
    assert examples, "the top confusions show example videos"
    text = " ".join(page.text)
    names = TAX.coarse_names()
    assert names[0] in text and TAX.fine_of_set(1)[0].name in text  # per-class tables with class names
    assert "The 10 most frequent confusions" in text
    assert "Notes" not in text  # everything could be drawn


def test_pdf_figures_and_notes_for_what_cannot_be_drawn(runs, tmp_path):
    moved = tmp_path / "run"
    shutil.copytree(runs / "cnn", moved)
    res = json.loads((moved / "results.json").read_text())
    res["data"] = str(tmp_path / "gone")
    (moved / "results.json").write_text(json.dumps(res))
    out = tmp_path / "html"
    assert main(["report", str(moved), "--html", str(out), "--format", "pdf"]) == 0
    assert (out / "figures/drop.pdf").read_bytes()[:4] == b"%PDF"
    assert (out / "figures/drop.png").is_file()
    text = " ".join(parse(out / "index.html").text)
    assert "coarse_vs_fine.png needs a coarse and a fine run" in text
    assert "is not there" in text and "built-in syn-ta taxonomy" in text
    assert not (out / "examples").exists()


def test_figure_format_needs_html(runs, capsys):
    assert main(["report", str(runs / "cnn"), "--format", "pdf"]) == 2
    assert "use it with --html" in capsys.readouterr().err


def test_seeds_show_mean_std_and_interval(runs, tmp_path):
    """A multi-seed run (`benchmark --seeds` layout): mean ± std and the bootstrap interval in the tables, and
    the per-class numbers pool the seeds' predictions."""
    from tabench.data.format import read_manifest
    from tabench.seeds import write_seed_results

    entries = read_manifest(runs / "data")
    run = tmp_path / "seeded"
    make_run(run / "seed0", runs / "data", entries, "rgbdiff_tiny", unknown_wrong={0: 1})
    make_run(run / "seed1", runs / "data", entries, "rgbdiff_tiny", unknown_wrong={0: 1, 1: 0})
    res = write_seed_results(run, [0, 1], extra={"data": str(runs / "data")})
    out = tmp_path / "html"
    assert main(["report", str(run), "--html", str(out), "--examples", "0"]) == 0
    page = (out / "index.html").read_text()
    m, sd = res["mean"]["unknown"], res["std"]["mean"]["unknown"]
    assert sd > 0 and f"{m:.2f} \u00b1 {sd:.2f}" in page
    lo, hi = res["ci95"]["mean"]["unknown"]
    assert f"[{lo:.2f}, {hi:.2f}]" in page
    names = TAX.coarse_names()
    by = {r.name: r for r in per_class(load_analysis_run(run), "coarse")}
    n1 = sum(1 for f in TAX.fine if f.coarse_id == 1)  # one val video per fine class, seen once per seed
    assert (by[names[1]].unknown, by[names[1]].n_known, by[names[1]].n_unknown) == (50.0, 2 * n1, 2 * n1)


def test_page_loads_in_headless_chromium(report):
    """Every image of the page loads in a real browser and no script error occurs."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("headless Chromium not installed (Debian: apt-get install chromium); the page's files are "
                    "still checked by test_html_report_writes_every_figure_and_table")
    out = report
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                           "--virtual-time-budget=10000", "--dump-dom", (out / "index.html").resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", proc.stdout)
    assert body, proc.stdout[:500]
    attrs = dict(re.findall(r'(data-[a-z]+)="([^"]*)"', body.group(1)))
    assert attrs.get("data-loaded") == "yes", attrs
    assert int(attrs["data-images"]) >= 11
    assert attrs["data-broken"] == "" and attrs["data-errors"] == "", attrs
