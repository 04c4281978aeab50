"""The paper's figures for a set of protocol runs, drawn with matplotlib (object API, Agg canvas: no display,
no global pyplot state):

- `drop`: Known vs Unknown per model and direction (Fig. 1, right);
- `coarse_vs_fine`: coarse vs fine, known and unknown, for models with runs at both levels (Fig. 5/11);
- `size_vs_hm`: the registry's parameter count against HM, one point per model, per dataset (Fig. 6);
- `confusion`: a coarse confusion matrix of one evaluation, class names on the axes (Fig. 7/9);
- `per_class`: per coarse class Known vs Unknown, sorted by drop.

Each function returns a matplotlib Figure; `save` writes it as PNG (and PDF/SVG) atomically.
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Sequence

from tabench.analysis import Run, class_names, confusion_matrix, model_params, per_class

KNOWN_COLOR = "#3b75af"
UNKNOWN_COLOR = "#ef8636"
FIGURE_FORMATS = ("png", "pdf", "svg")
DPI = 110


def _figure(w: float, h: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=DPI, layout="constrained")
    return fig


def save(fig, path_stem: Path, formats: Sequence[str] = ("png",)) -> list[Path]:
    """Write the figure as PATH_STEM.<fmt> for each format (atomically); returns the written paths."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from tabench.io import atomic_path

    FigureCanvasAgg(fig)
    out = []
    for fmt in formats:
        path = Path(f"{path_stem}.{fmt}")
        with atomic_path(path, suffix=f".{fmt}") as tmp:
            fig.savefig(tmp, format=fmt, dpi=DPI)
        out.append(path)
    return out


def _group_key(run: Run) -> str:
    return f"{run.dataset}, {run.level}"


def _err(run: Run, train_set: int | None, key: str):
    sp = run.spread("std") if train_set is None else run.direction_spread(train_set, "std")
    return None if sp is None else sp.get(key)


def drop(runs: Sequence[Run]):
    """Grouped bars: for every run and direction, Known and Unknown accuracy, the drop written above."""
    groups = defaultdict(list)
    for r in runs:
        groups[_group_key(r)].append(r)
    n_bars = max(len(g) for g in groups.values()) * 2
    fig = _figure(max(6.0, 1.5 + 1.1 * n_bars), 3.6 * len(groups))
    axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
    for ax, (title, grp) in zip(axes, groups.items()):
        labels, known, unknown, kerr, uerr = [], [], [], [], []
        for r in grp:
            for d in r.results["directions"]:
                s = d["train_set"]
                labels.append(f"{r.name}\ntrained on Set {s}")
                known.append(d["known"])
                unknown.append(d["unknown"])
                kerr.append(_err(r, s, "known"))
                uerr.append(_err(r, s, "unknown"))
        x = range(len(labels))
        w = 0.38
        ax.bar([i - w / 2 for i in x], known, w, color=KNOWN_COLOR, label="Known context",
                    yerr=None if None in kerr else kerr, capsize=3)
        ax.bar([i + w / 2 for i in x], unknown, w, color=UNKNOWN_COLOR, label="Unknown context",
               yerr=None if None in uerr else uerr, capsize=3)
        for i, (k, u) in enumerate(zip(known, unknown)):
            ax.annotate(f"\u2212{k - u:.1f}" if k >= u else f"+{u - k:.1f}", (i, max(k, u) + 2), ha="center",
                        va="bottom", fontsize=9, color="#444444")
        ax.set_xticks(list(x), labels, fontsize=8)
        ax.set_ylabel("Top-1 accuracy (%)")
        top = max(known + unknown + [10])
        ax.set_ylim(0, top * 1.12 + 14)  # room for the drops and the legend above the bars
        ax.set_title(f"Known vs unknown context ({title}); numbers: absolute drop", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        ax.legend(fontsize=8, loc="upper center", ncols=2)
    return fig


def coarse_vs_fine_pairs(runs: Sequence[Run]) -> list[tuple[Run, Run]]:
    """(coarse run, fine run) of the same model and dataset."""
    pairs = []
    for c in runs:
        if c.level != "coarse":
            continue
        for f in runs:
            if f.level == "fine" and f.model == c.model and f.dataset == c.dataset:
                pairs.append((c, f))
                break
    return pairs


def coarse_vs_fine(pairs: Sequence[tuple[Run, Run]]):
    """For each model with runs at both levels: Known and Unknown accuracy at the coarse and the fine level."""
    fig = _figure(max(5.5, 1.5 + 2.6 * len(pairs)), 3.8)
    ax = fig.subplots()
    w = 0.2
    styles = [("coarse", "known", KNOWN_COLOR, None), ("fine", "known", KNOWN_COLOR, "//"),
              ("coarse", "unknown", UNKNOWN_COLOR, None), ("fine", "unknown", UNKNOWN_COLOR, "//")]
    for j, (level, kind, color, hatch) in enumerate(styles):
        xs = [i + (j - 1.5) * w for i in range(len(pairs))]
        runs = [c if level == "coarse" else f for c, f in pairs]
        vals = [r.results["mean"][kind] for r in runs]
        errs = [_err(r, None, kind) for r in runs]
        ax.bar(xs, vals, w, color=color, hatch=hatch, edgecolor="white" if hatch else None,
               label=f"{level.capitalize()}, {kind}", yerr=None if None in errs else errs, capsize=3)
        for x, v in zip(xs, vals):
            ax.annotate(f"{v:.1f}", (x, v + 1), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(pairs)), [f"{c.model}\n({c.dataset})" for c, _ in pairs], fontsize=9)
    ax.set_ylabel("Top-1 accuracy (%), mean of directions")
    ax.set_ylim(0, 122)
    ax.set_title("Coarse vs fine motions, known and unknown context", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, ncols=2, loc="upper right")
    return fig


def size_points(runs: Sequence[Run]) -> list[tuple[Run, int]]:
    return [(r, p) for r in runs for p in [model_params(r.model)] if p is not None]


def size_vs_hm(points: Sequence[tuple[Run, int]]):
    """Parameter count (registry, 400-way head; log scale) against HM; one panel per level, one colour and
    marker per dataset, one point per model."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    levels = sorted({r.level for r, _ in points})
    fig = _figure(6.0 * len(levels), 4.2)
    axes = fig.subplots(1, len(levels), squeeze=False)[0]
    markers = ["o", "s", "^", "D", "v"]
    datasets = sorted({r.dataset for r, _ in points})
    for ax, level in zip(axes, levels):
        for di, ds in enumerate(datasets):
            pts = [(r, p) for r, p in points if r.level == level and r.dataset == ds]
            if not pts:
                continue
            xs = [p / 1e6 for _, p in pts]
            ys = [r.results["mean"]["hm"] for r, _ in pts]
            errs = [_err(r, None, "hm") for r, _ in pts]
            ax.errorbar(xs, ys, yerr=None if None in errs else errs, fmt=markers[di % len(markers)], ms=7,
                        capsize=3, label=ds, color=f"C{di}")
            for (r, _), x, y in zip(pts, xs, ys):
                ax.annotate(r.model if sum(q.model == r.model for q, _ in pts) == 1 else f"{r.model} ({r.name})",
                            (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
        ax.set_xscale("log")
        xs_all = [p / 1e6 for r, p in points if r.level == level]
        ax.set_xlim(min(xs_all) / 2.5, max(xs_all) * 4)  # a decade or more, room for the labels
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("Parameters (millions, log scale)")
        ax.set_ylabel("Harmonic mean of Known and Unknown (%)")
        ax.set_title(f"Model size vs HM ({level} level)", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, title="dataset", title_fontsize=8)
        lo, hi = ax.get_ylim()
        ax.set_ylim(max(0, lo - 5), min(105, hi + 5))
    return fig


def confusion(run: Run, train_set: int, kind: str):
    """Row-normalised coarse confusion matrix (colour: percent of the true class) with counts in the cells."""
    m = confusion_matrix(run, train_set, kind)
    names = class_names(run)
    n = len(names)
    rows = [[100.0 * v / max(1, sum(row)) for v in row] for row in m]
    side = max(5.0, 1.8 + 0.34 * n)
    fig = _figure(side + 1.2, side)
    ax = fig.subplots()
    im = ax.imshow(rows, cmap="Blues", vmin=0, vmax=100)
    ax.set_xticks(range(n), names, rotation=60, ha="right", rotation_mode="anchor", fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    ax.set_xlabel("Predicted coarse class")
    ax.set_ylabel("True coarse class")
    context = "known" if kind == "known" else "unknown"
    test_set = train_set if kind == "known" else 3 - train_set
    ax.set_title(f"{run.name}: trained on Set {train_set}, tested on Set {test_set} ({context} context)",
                 fontsize=10)
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if m[i][j]:
                    ax.text(j, i, str(m[i][j]), ha="center", va="center", fontsize=6.5,
                            color="white" if rows[i][j] > 55 else "black")
    cb = fig.colorbar(im, ax=ax, shrink=0.7)
    cb.set_label("% of the true class's videos")
    return fig


def per_class_figure(run: Run):
    """Per coarse class: Known and Unknown accuracy as horizontal bars, sorted by drop (largest on top)."""
    rows = per_class(run, "coarse")
    n = len(rows)
    fig = _figure(7.5, max(3.0, 1.3 + 0.32 * n))
    ax = fig.subplots()
    ys = list(range(n))
    h = 0.4
    ax.barh([y - h / 2 for y in ys], [r.known for r in rows], h, color=KNOWN_COLOR, label="Known context")
    ax.barh([y + h / 2 for y in ys], [0 if math.isnan(r.unknown) else r.unknown for r in rows], h,
            color=UNKNOWN_COLOR, label="Unknown context")
    ax.set_yticks(ys, [f"{r.name}  (drop {r.drop:.0f})" if not math.isnan(r.drop) else r.name for r in rows],
                  fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("Top-1 accuracy (%), both directions pooled")
    ax.set_title(f"{run.name}: per coarse class, sorted by drop = Known \u2212 Unknown", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.06 - 1.2 / fig.get_figheight() / 10), ncols=2)
    return fig
