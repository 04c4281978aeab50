"""`tabench report RUNS... --html OUT_DIR`: one self-contained HTML page with the paper's tables and figures
for the given runs.

    OUT_DIR/index.html      tables, figures, per-class tables, top confusions (no network: plain HTML + CSS and a
                            few lines of inline JS that record whether every image loaded, for the browser test)
    OUT_DIR/figures/*.png   drop, coarse_vs_fine, size_vs_hm, confusion_<run>_<direction>_<context>,
                            per_class_<run> (and .pdf/.svg with `--format pdf|svg`)
    OUT_DIR/examples/*.png  frame strips of example videos of the top confusions (from the dataset directory)
    OUT_DIR/explain/<run>/  the run's `tabench explain` saliency strips, where RUN/explain/ has them

What cannot be drawn (no model with both levels for coarse_vs_fine, a run whose dataset directory is gone, ...)
is said in the page, in a "Notes" box at the top, not silently left out.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import html
import math
import re
from pathlib import Path
from typing import Sequence

from tabench import TabenchError, __version__
from tabench.analysis import METRICS, Run, load_runs, per_class, top_confusions
from tabench.io import atomic_write_text
from tabench.report import DATASET_ORDER

COLUMN_NAMES = {"known": "Known", "unknown": "Unknown", "dabs": "D<sub>abs</sub>", "drel": "D<sub>rel</sub>",
                "hm": "HM"}
ARROWS = {"known": "\u2191", "unknown": "\u2191", "dabs": "\u2193", "drel": "\u2193", "hm": "\u2191"}
CONTEXTS = ("known", "unknown")
STRIP_FRAMES = 6
STRIP_HEIGHT = 72

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 2em auto;
       max-width: 1250px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
h3 { margin-top: 1.5em; } .meta { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; vertical-align: top; }
th { background: #f4f4f4; text-align: center; } td.l, th.l { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
.ci { color: #777; font-size: 0.85em; white-space: nowrap; }
.pm { white-space: nowrap; } .td { color: #a33; font-size: 0.85em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; max-width: 900px; }
.notes { background: #fff7e0; border: 1px solid #e8c860; padding: 0.6em 1em; border-radius: 4px; }
img.strip { max-width: 100%; max-height: 48px; display: block; margin: 2px 0 6px 0; }
.pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(860px, 1fr)); gap: 1.5em; }
.pair > div { min-width: 0; } .pair figure img { max-width: 900px; width: 100%; }
details { margin: 0.5em 0; } summary { cursor: pointer; color: #2a5d9f; }
code { background: #f4f4f4; padding: 0 3px; }
"""

# Records, for the headless-browser test, whether the page loaded, how many images it has and which failed.
CHECK_JS = """
window.tabenchErrors = [];
window.addEventListener("error", function (e) { window.tabenchErrors.push(String(e.message || e)); });
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                   .map(function (i) { return i.getAttribute("src"); });
  document.body.setAttribute("data-images", String(imgs.length));
  document.body.setAttribute("data-broken", broken.join(" "));
  document.body.setAttribute("data-errors", window.tabenchErrors.join(" | "));
  document.body.setAttribute("data-loaded", "yes");
});
"""


def _e(s) -> str:
    return html.escape(str(s))


def safe_name(name: str) -> str:
    """A run name usable in a file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "run"


# ----- tables -----
def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.2f}"


def _interval(ci, mean: float | None) -> str | None:
    """A ci95 value as "[lo, hi]": a (lo, hi) pair, or a half-width around the mean."""
    if ci is None or mean is None:
        return None
    if isinstance(ci, (list, tuple)) and len(ci) == 2:
        lo, hi = ci
    elif isinstance(ci, (int, float)):
        lo, hi = mean - ci, mean + ci
    else:
        return None
    return f"[{_fmt(lo)}, {_fmt(hi)}]"


def metric_cell(values: dict | None, std: dict | None, ci: dict | None, key: str) -> str:
    if values is None:
        return "<td>-</td>"
    v = values.get(key)
    text = _fmt(v)
    if std and std.get(key) is not None:
        text = f'<span class="pm">{text} \u00b1 {_fmt(std[key])}</span>'
    interval = _interval(ci.get(key), v) if ci else None
    if interval:
        text += f'<br><span class="ci">95% {interval}</span>'
    return f"<td>{text}</td>"


def _datasets(runs: Sequence[Run]) -> list[str]:
    return sorted({r.dataset for r in runs}, key=lambda d: (DATASET_ORDER.index(d) if d in DATASET_ORDER else 99, d))


def _seed_text(r: Run) -> str:
    return (f" <span class='ci'>({len(r.seeds)} seeds)</span>" if r.seeds else "") + _transductive_text(r)


def is_transductive(r: Run) -> bool:
    return bool(r.stored.get("transductive"))


def _transductive_text(r: Run) -> str:
    return " <b class='td'>[transductive]</b>" if is_transductive(r) else ""


def _class_text(r: Run) -> str:
    ct = r.stored.get("class_text")
    if not isinstance(ct, dict):
        return "-"
    extra = "".join(f", {k} {ct[k]}" for k in ("alpha", "k") if k in ct)
    return f"{ct.get('source', '-')}{extra}"


def mean_table(runs: Sequence[Run], level: str) -> str:
    """Tab. 2/3: one row per run, Known / Unknown / Dabs / Drel / HM per dataset, mean of the two directions."""
    sel = [r for r in runs if r.level == level]
    datasets = _datasets(sel)
    head1 = "<tr><th class='l' rowspan='2'>Run (model)</th>" + "".join(
        f"<th colspan='{len(METRICS)}'>{_e(d)}</th>" for d in datasets) + "</tr>"
    head2 = "<tr>" + "".join(f"<th>{COLUMN_NAMES[k]} {ARROWS[k]}</th>" for _ in datasets for k in METRICS) + "</tr>"
    body = []
    for r in sel:
        cells = []
        for d in datasets:
            values = r.results["mean"] if r.dataset == d else None
            cells += [metric_cell(values, r.spread("std"), r.spread("ci95"), k) for k in METRICS]
        body.append(f"<tr><td class='l'>{_e(r.name)} ({_e(r.model)}){_seed_text(r)}</td>{''.join(cells)}</tr>")
    return f"<table>{head1}{head2}{''.join(body)}</table>"


def per_set_table(runs: Sequence[Run], level: str) -> str:
    """Tab. 6-11: each direction apart."""
    sel = [r for r in runs if r.level == level]
    head1 = ("<tr><th class='l' rowspan='2'>Run (model)</th><th class='l' rowspan='2'>Dataset</th>"
             + "".join(f"<th colspan='{len(METRICS)}'>Train Set {s}</th>" for s in (1, 2)) + "</tr>")
    head2 = "<tr>" + "".join(f"<th>{COLUMN_NAMES[k]} {ARROWS[k]}</th>" for _ in (1, 2) for k in METRICS) + "</tr>"
    body = []
    for r in sel:
        by = {d["train_set"]: d for d in r.results["directions"]}
        cells = [metric_cell(by.get(s), r.direction_spread(s, "std"), r.direction_spread(s, "ci95"), k)
                 for s in (1, 2) for k in METRICS]
        body.append(f"<tr><td class='l'>{_e(r.name)} ({_e(r.model)}){_seed_text(r)}</td>"
                    f"<td class='l'>{_e(r.dataset)}</td>{''.join(cells)}</tr>")
    return f"<table>{head1}{head2}{''.join(body)}</table>"


def class_table(rows, fine: bool) -> str:
    head = ("<tr><th class='l'>Fine class</th><th>Set</th><th class='l'>Coarse class</th>" if fine
            else "<tr><th class='l'>Coarse class</th>")
    head += "<th>Known</th><th>Unknown</th><th>Drop</th><th>Videos (known / unknown)</th></tr>"
    body = []
    for r in rows:
        first = (f"<td class='l'>{_e(r.name)}</td><td>{r.set}</td><td class='l'>{_e(r.coarse)}</td>" if fine
                 else f"<td class='l'>{_e(r.name)}</td>")
        body.append(f"<tr>{first}<td>{_fmt(r.known)}</td><td>{_fmt(r.unknown)}</td><td>{_fmt(r.drop)}</td>"
                    f"<td>{r.n_known} / {r.n_unknown}</td></tr>")
    return f"<table>{head}{''.join(body)}</table>"


# ----- example videos -----
def frame_strip(video: Path, out: Path, frames: int = STRIP_FRAMES, height: int = STRIP_HEIGHT) -> Path:
    """A PNG of `frames` evenly spaced frames of a video side by side, `height` pixels high."""
    import numpy as np
    from PIL import Image

    from tabench.data.video import VideoReader
    from tabench.io import atomic_path

    with VideoReader(video) as r:
        n = r.info.num_frames
        idx = np.linspace(0, max(0, n - 1), frames).round().astype(int)
        arr = r.read(idx, short_side=None)
    imgs = []
    for f in arr:
        im = Image.fromarray(f)
        w = max(1, round(im.width * height / im.height))
        imgs.append(im.resize((w, height), Image.BILINEAR))
    strip = Image.new("RGB", (sum(i.width for i in imgs) + 2 * (len(imgs) - 1), height), "white")
    x = 0
    for im in imgs:
        strip.paste(im, (x, 0))
        x += im.width + 2
    with atomic_path(out, suffix=".png") as tmp:
        strip.save(tmp, format="PNG", optimize=True)
    return out


def _examples_html(run: Run, paths: list[str], out_dir: Path, notes: list[str]) -> str:
    if run.data is None:
        return "<td class='l'>-</td>"
    parts = []
    for p in paths:
        video = run.data / p
        digest = hashlib.sha1(p.encode("utf-8")).hexdigest()[:12]
        strip = out_dir / "examples" / f"{safe_name(run.name)}_{digest}.png"
        try:
            if not strip.is_file():
                frame_strip(video, strip)
        except TabenchError as e:
            notes.append(f"{run.name}: no frames for example video {p} ({e})")
            parts.append(f"<code>{_e(p)}</code> (unreadable)")
            continue
        rel = strip.relative_to(out_dir).as_posix()
        parts.append(f"<a href='{_e(video.resolve().as_uri())}' title='{_e(p)}'><code>{_e('/'.join(Path(p).parts[-2:]))}</code></a>"
                     f"<img class='strip' src='{_e(rel)}' alt='frames of {_e(p)}'>")
    return "<td class='l'>" + "".join(parts) + "</td>"


def confusion_table(run: Run, train_set: int, kind: str, out_dir: Path, notes: list[str], examples: int) -> str:
    rows = top_confusions(run, train_set, kind, k=10, examples=examples)
    if not rows:
        return "<p>No confusions: every video of this evaluation was classified correctly.</p>"
    head = ("<tr><th>#</th><th class='l'>True class</th><th class='l'>Predicted as</th><th>Videos</th>"
            "<th>% of the true class</th>" + ("<th class='l'>Example videos</th>" if examples else "") + "</tr>")
    body = []
    for i, c in enumerate(rows, 1):
        ex = _examples_html(run, c.examples, out_dir, notes) if examples else ""
        body.append(f"<tr><td>{i}</td><td class='l'>{_e(c.true)}</td><td class='l'>{_e(c.pred)}</td>"
                    f"<td>{c.count}</td><td>{c.share:.1f}</td>{ex}</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _explain_html(run: Run, out_dir: Path, notes: list[str]) -> str:
    """The run's `tabench explain` strips (RUN/explain/explain.json), copied next to the page; '' without them."""
    import json
    import shutil

    rec_path = Path(run.path) / "explain" / "explain.json"
    if not rec_path.is_file():
        return ""
    try:
        rec = json.loads(rec_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        notes.append(f"{run.name}: unreadable {rec_path} ({e})")
        return ""
    dest = out_dir / "explain" / safe_name(run.name)
    dest.mkdir(parents=True, exist_ok=True)
    rows = []
    for v in rec.get("videos", []):
        src = rec_path.parent / v["png"]
        if not src.is_file():
            notes.append(f"{run.name}: explain strip {src} is missing (re-run `tabench explain`)")
            continue
        shutil.copyfile(src, dest / src.name)
        rel = (dest / src.name).relative_to(out_dir).as_posix()
        rows.append(f"<tr><td>{v['train_set']}</td><td class='l'>{_e(v['context'])}</td>"
                    f"<td class='l'><code>{_e(v['video'])}</code><br>true: {_e(v.get('true_name') or v['true'])}, "
                    f"predicted: {_e(v.get('pred_name') or v['pred'])}</td>"
                    f"<td class='l'><img src='{_e(rel)}' alt='saliency of {_e(v['video'])}' "
                    "style='max-width: 760px'></td></tr>")
    if not rows:
        return ""
    method = rec.get("method", "grad-cam")
    what = ("attention rollout" if method == "attention-rollout" else
            "Grad-CAM of the predicted class" if method == "grad-cam" else _e(method))
    return (f"<details open><summary>Where the model looks ({what}, "
            f"<code>{_e(rec['videos'][0].get('layer', '?'))}</code>; paper Fig. 8): top row overlaid, bottom "
            "row the frames</summary><table><tr><th>Trained on</th><th class='l'>Context</th>"
            "<th class='l'>Video</th><th class='l'>Frames</th></tr>" + "".join(rows) + "</table></details>")


# ----- the page -----
def _figure_html(out_dir: Path, stem: str, caption: str, formats: Sequence[str]) -> str:
    links = "".join(f" <a href='figures/{_e(stem)}.{f}'>{f.upper()}</a>" for f in formats if f != "png")
    return (f"<figure><img src='figures/{_e(stem)}.png' alt='{_e(stem)}'>"
            f"<figcaption>{caption}{' (also as' + links + ')' if links else ''}</figcaption></figure>")


def write_html_report(run_dirs: Sequence[str | Path], out_dir: str | Path, formats: Sequence[str] = ("png",),
                      examples: int = 2, ci: bool = False) -> Path:
    """Write OUT_DIR/index.html and its figures for the runs; returns the path of index.html.
    `formats`: figure formats besides PNG (which the page shows); `examples`: example videos per confusion;
    `ci`: bootstrap 95% intervals also for single-seed runs (over test videos; multi-seed runs always have them)."""
    from tabench import figures

    formats = ["png"] + [f for f in formats if f != "png"]
    for f in formats:
        if f not in figures.FIGURE_FORMATS:
            raise TabenchError(f"unknown figure format {f!r}; choose one of {', '.join(figures.FIGURE_FORMATS)}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise TabenchError(f"{out_dir}: exists and is not a directory")
    runs = load_runs(run_dirs)
    if ci:
        from tabench.seeds import run_ci

        for r in runs:
            if "ci95" not in r.results:
                r.results["ci95"] = run_ci(r.path)
    fig_dir = out_dir / "figures"
    notes = [n for r in runs for n in r.notes]
    transductive = [r.name for r in runs if is_transductive(r)]
    if transductive:
        notes.append(f"{', '.join(transductive)}: transductive (trained with the unseen classes' texts, "
                     "--transductive), marked [transductive] in the tables; its Unknown is not zero-shot and is not "
                     "comparable with the inductive runs")
    written: list[Path] = []

    def put(fig, stem):
        written.extend(figures.save(fig, fig_dir / stem, formats))

    parts = [f"<h1>tabench report</h1><p class='meta'>{len(runs)} run(s); tabench {__version__}; "
             f"{_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}</p>"]
    parts.append("<table><tr><th class='l'>Run</th><th class='l'>Model</th><th class='l'>Dataset</th>"
                 "<th class='l'>Level</th><th class='l'>Class text</th><th class='l'>Transductive</th><th>Seeds</th>"
                 "<th class='l'>Directory</th></tr>" + "".join(
                     f"<tr><td class='l'>{_e(r.name)}</td><td class='l'>{_e(r.model)}</td>"
                     f"<td class='l'>{_e(r.dataset)}</td><td class='l'>{_e(r.level)}</td>"
                     f"<td class='l'>{_e(_class_text(r))}</td>"
                     f"<td class='l'>{'<b class=td>yes</b>' if is_transductive(r) else 'no'}</td>"
                     f"<td>{', '.join(map(str, r.seeds)) if r.seeds else '-'}</td>"
                     f"<td class='l'><code>{_e(r.path)}</code></td></tr>" for r in runs) + "</table>")
    notes_at = len(parts)

    # Tables
    parts.append("<h2>Results</h2><p>Accuracies in percent; D<sub>abs</sub> = Known \u2212 Unknown, "
                 "D<sub>rel</sub> = 100 \u00b7 D<sub>abs</sub> / Known, HM = harmonic mean of Known and Unknown. "
                 "Runs with seeds show mean \u00b1 std over seeds and the bootstrap 95% interval (over seeds and test "
                 "videos; with <code>--ci</code> also for single-seed runs).</p>")
    for level in ("coarse", "fine"):
        if any(r.level == level for r in runs):
            what = ("Coarse motions (Tab. 2)" if level == "coarse"
                    else "Fine motions, unknown = zero-shot on the other set's captions (Tab. 3)")
            parts.append(f"<h3>{what}, mean of the two directions</h3>{mean_table(runs, level)}")
            parts.append(f"<details><summary>Each direction apart (Tab. 6-11 layout)</summary>"
                         f"{per_set_table(runs, level)}</details>")

    # Figures over runs
    parts.append("<h2>Figures</h2>")
    put(figures.drop(runs), "drop")
    parts.append(_figure_html(out_dir, "drop", "Known vs unknown context per run and direction (paper Fig. 1, "
                              "right). The number above each pair is the absolute drop.", formats))
    pairs = figures.coarse_vs_fine_pairs(runs)
    if pairs:
        put(figures.coarse_vs_fine(pairs), "coarse_vs_fine")
        parts.append(_figure_html(out_dir, "coarse_vs_fine", "Coarse vs fine motions for models with runs at both "
                                  "levels (paper Fig. 5/11).", formats))
    else:
        notes.append("coarse_vs_fine.png needs a coarse and a fine run of the same model on the same dataset; "
                     "none among these runs")
    points = figures.size_points(runs)
    missing = sorted({r.model for r in runs} - {r.model for r, _ in points})
    if missing:
        notes.append(f"size_vs_hm.png: {', '.join(missing)} not in the model registry (no parameter count)")
    if points:
        put(figures.size_vs_hm(points), "size_vs_hm")
        parts.append(_figure_html(out_dir, "size_vs_hm", "Parameter count (from the model registry, with a "
                                  "400-way head) against HM, one point per run, per dataset (paper Fig. 6).",
                                  formats))

    # Per run
    for r in runs:
        stem = safe_name(r.name)
        parts.append(f"<h2 id='run-{_e(stem)}'>{_e(r.name)}: {_e(r.model)} on {_e(r.dataset)} ({_e(r.level)})</h2>")
        parts.append(_explain_html(r, out_dir, notes))
        if r.taxonomy is None:
            continue
        put(figures.per_class_figure(r), f"per_class_{stem}")
        parts.append(_figure_html(out_dir, f"per_class_{stem}", "Per coarse class: accuracy in known and unknown "
                                  "context, both directions pooled, sorted by drop (largest first).", formats))
        parts.append(f"<details><summary>Per coarse class table</summary>{class_table(per_class(r, 'coarse'), False)}"
                     "</details>")
        fine_rows = per_class(r, "fine")
        if fine_rows:
            parts.append("<details><summary>Per fine class table (known: the model trained on the class's set; "
                         "unknown: the model trained on the other set)</summary>"
                         f"{class_table(fine_rows, True)}</details>")
        for s in (1, 2):
            parts.append(f"<h3>Trained on Set {s}: known context (Set {s}) and unknown context (Set {3 - s})</h3>"
                         "<div class='pair'>")
            for kind in CONTEXTS:
                cstem = f"confusion_{stem}_train{s}_{kind}"
                put(figures.confusion(r, s, kind), cstem)
                parts.append("<div>" + _figure_html(
                    out_dir, cstem, "Coarse confusion matrix (colour: % of the true class; numbers: videos)"
                    + (", fine predictions mapped to their coarse class" if r.level == "fine" else "") + ".", formats))
                parts.append(f"<p>The 10 most frequent confusions ({kind} context):</p>"
                             + confusion_table(r, s, kind, out_dir, notes, examples) + "</div>")
            parts.append("</div>")

    if notes:
        parts.insert(notes_at, "<div class='notes'><b>Notes</b><ul>"
                     + "".join(f"<li>{_e(n)}</li>" for n in dict.fromkeys(notes)) + "</ul></div>")
    page = ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>tabench report</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{CSS}</style>"
            f"<script>{CHECK_JS}</script></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
    index = out_dir / "index.html"
    atomic_write_text(index, page)
    return index
