"""Paper-style tables from protocol runs (Tab. 2/3: one row per model, Known / Unknown / Dabs / Drel / HM
per dataset, averaged over the two directions; `per_set=True` gives Tab. 6-11: each direction apart).

Every number is recomputed from the runs' prediction files (`results.load_run`), so a table never shows a
result its predictions do not support.

Multi-seed runs (`tabench benchmark --seeds`) show `mean ± std` over seeds; `ci=True` (`--ci`) adds the
bootstrap 95 % interval `[low, high]` (over seeds and test videos; over test videos alone for a one-seed run).

A transductive run (`transductive: true` in its results.json: it saw the unseen classes' texts in training, e.g.
CoCo's cross-action invariance mining) is labelled `[transductive]` in every format, and a table that holds one
says so under it, so it is never compared silently with inductive runs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from tabench import TabenchError
from tabench.results import load_run

FORMATS = ("markdown", "csv", "latex", "json")
EXTENSIONS = {"markdown": "md", "csv": "csv", "latex": "tex", "json": "json"}
COLUMNS = (("known", "Known"), ("unknown", "Unknown"), ("dabs", "Dabs"), ("drel", "Drel"), ("hm", "HM"))
DATASET_ORDER = ("syn-ta", "k400-ta", "ssv2-ta")


@dataclass
class Table:
    title: str
    groups: list[str]  # column groups: datasets, or "Set 1"/"Set 2"
    rows: list[tuple[str, list[dict | None]]]  # row label, one metrics dict (or None) per group
    # a metrics dict may also hold "std" and "ci95": {key: std} and {key: [low, high]}
    notes: list[str] = field(default_factory=list)  # lines shown under the table (videos left out, transductive)
    transductive: set[str] = field(default_factory=set)  # labels of the rows from transductive runs


TRANSDUCTIVE_MARK = " [transductive]"
TRANSDUCTIVE_NOTE = ("[transductive]: trained with the unseen classes' texts (--transductive); its Unknown is not "
                     "zero-shot and is not comparable with the inductive rows")


def stored_marks(run_dir: str | Path) -> dict:
    """What results.json says about how the run saw its class texts: `transductive` (bool) and `class_text`."""
    stored = json.loads((Path(run_dir) / "results.json").read_text(encoding="utf-8"))
    return {"transductive": bool(stored.get("transductive")), "class_text": stored.get("class_text")}


def _row_labels(runs: Sequence[dict]) -> list[str]:
    labels = [r["model"] for r in runs]
    keys = [(r["model"], r["dataset"], r["level"], r["transductive"]) for r in runs]
    labels = [f"{lab} ({r['run_dir']})" if keys.count(k) > 1 else lab for lab, k, r in zip(labels, keys, runs)]
    return [lab + (TRANSDUCTIVE_MARK if r["transductive"] else "") for lab, r in zip(labels, runs)]


def _cell(values: dict, std: dict | None, ci: dict | None) -> dict:
    cell = dict(values)
    if std is not None:
        cell["std"] = {k: std[k] for k, _ in COLUMNS}
    if ci is not None:
        cell["ci95"] = {k: ci[k] for k, _ in COLUMNS}
    return cell


def _with_spread(r: dict, ci: bool) -> dict:
    """Attach std (multi-seed runs) and, with ci, the 95 % intervals to the run's mean and direction cells."""
    std, ci95 = r.get("std"), (r.get("ci95") if ci else None)
    r["mean"] = _cell(r["mean"], std and std["mean"], ci95 and ci95["mean"])
    by = lambda part: {d["train_set"]: d for d in part["directions"]} if part else {}
    sd, cd = by(std), by(ci95)
    r["directions"] = [_cell(d, sd.get(d["train_set"]), cd.get(d["train_set"])) for d in r["directions"]]
    return r


def build_tables(run_dirs: Sequence[str | Path], per_set: bool = False, ci: bool = False) -> list[Table]:
    if not run_dirs:
        raise TabenchError("no runs given")
    runs = []
    for d in run_dirs:
        r = load_run(d)
        if ci and "ci95" not in r:
            from tabench.seeds import run_ci
            r["ci95"] = run_ci(d)
        r = _with_spread(r, ci)
        r["run_dir"] = Path(d).name
        r["skipped_note"] = _skipped_note(d)
        r["transductive"] = stored_marks(d)["transductive"]
        runs.append(r)
    for r, label in zip(runs, _row_labels(runs)):
        r["label"] = label
    tables = []
    for level in ("coarse", "fine"):
        sel = [r for r in runs if r["level"] == level]
        if not sel:
            continue
        datasets = sorted({r["dataset"] for r in sel},
                          key=lambda d: (DATASET_ORDER.index(d) if d in DATASET_ORDER else 99, d))
        labels = list(dict.fromkeys(r["label"] for r in sel))
        what = "coarse motions" if level == "coarse" else "fine motions (unknown = zero-shot on the other set's captions)"
        if per_set:
            for ds in datasets:
                rows = []
                for lab in labels:
                    r = next((r for r in sel if r["label"] == lab and r["dataset"] == ds), None)
                    if r is not None:
                        by = {d["train_set"]: d for d in r["directions"]}
                        rows.append((lab, [by.get(1), by.get(2)]))
                tables.append(_marked(Table(f"{ds}, {what}, per direction", ["Set 1", "Set 2"], rows,
                                            _notes([r for r in sel if r["dataset"] == ds])), sel))
        else:
            rows = []
            for lab in labels:
                cells = [next((r["mean"] for r in sel if r["label"] == lab and r["dataset"] == ds), None)
                         for ds in datasets]
                rows.append((lab, cells))
            tables.append(_marked(Table(f"{what.capitalize()}, mean of the two directions", datasets, rows,
                                        _notes(sel)), sel))
    return tables


def _skipped_note(run_dir) -> str | None:
    """How many videos a run left out (skip_corrupt), from results.json's `skipped`."""
    from tabench.protocol import skipped_note

    try:
        stored = json.loads((Path(run_dir) / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return skipped_note(stored.get("skipped") if isinstance(stored, dict) else None)


def _notes(runs) -> list[str]:
    return [f"{r['label']}: {r['skipped_note']}" for r in runs if r.get("skipped_note")]


def _marked(table: Table, runs: Sequence[dict]) -> Table:
    """Mark the table's rows from transductive runs and say what that means under it."""
    labels = {lab for lab, _ in table.rows}
    table.transductive = {r["label"] for r in runs if r["transductive"] and r["label"] in labels}
    if table.transductive:
        table.notes.append(TRANSDUCTIVE_NOTE)
    return table


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.2f}"


def _fmt_cell(c: dict | None, k: str, pm: str = " ± ") -> str:
    """"85.15", "85.15 ± 1.20" (multi-seed) or "85.15 ± 1.20 [82.90, 87.31]" (with intervals)."""
    if c is None:
        return "-"
    text = _fmt(c[k])
    if "std" in c:
        text += f"{pm}{c['std'][k]:.2f}"
    if "ci95" in c:
        lo, hi = c["ci95"][k]
        text += f" [{lo:.2f}, {hi:.2f}]"
    return text


def render_markdown(tables: list[Table]) -> str:
    out = []
    for t in tables:
        head = ["Model"] + [f"{g} {name}" for g in t.groups for _, name in COLUMNS]
        out.append(f"**{t.title}**\n")
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for label, cells in t.rows:
            vals = [_fmt_cell(c, k) for c in cells for k, _ in COLUMNS]
            out.append("| " + " | ".join([label] + vals) + " |")
        out.append("")
        for note in t.notes or []:
            out.append(f"*{note}*\n")
    return "\n".join(out)


def render_csv(tables: list[Table]) -> str:
    """One line per (table, model, group); `<key>_std` and `<key>_ci_low/_ci_high` columns appear when some run
    has several seeds or intervals were asked for."""
    cells = [c for t in tables for _, cs in t.rows for c in cs if c is not None]
    has_std, has_ci = any("std" in c for c in cells), any("ci95" in c for c in cells)
    has_td = any(t.transductive for t in tables)
    cols = [k for k, _ in COLUMNS]
    head = cols + ([f"{k}_std" for k in cols] if has_std else []) \
        + ([f"{k}_ci_{e}" for k in cols for e in ("low", "high")] if has_ci else []) \
        + (["transductive"] if has_td else [])
    num = lambda v: "" if v is None else f"{v:.4f}"
    lines = ["table,model,group," + ",".join(head)]
    for t in tables:
        for label, cells in t.rows:
            for g, c in zip(t.groups, cells):
                if c is not None:
                    q = lambda s: '"' + s.replace('"', '""') + '"'
                    vals = [num(c[k]) for k in cols]
                    if has_std:
                        vals += [num(c["std"][k]) if "std" in c else "" for k in cols]
                    if has_ci:
                        vals += [num(c["ci95"][k][i]) if "ci95" in c else "" for k in cols for i in (0, 1)]
                    if has_td:
                        vals.append("true" if label in t.transductive else "false")
                    lines.append(",".join([q(t.title), q(label), q(g)] + vals))
    return "\n".join(lines) + "\n"


def render_latex(tables: list[Table]) -> str:
    esc = lambda s: s.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")
    out = []
    for t in tables:
        n = len(COLUMNS)
        out.append(r"\begin{table}[t]\centering\small")
        out.append(rf"\caption{{{esc(t.title)}}}")
        out.append(r"\begin{tabular}{l" + ("c" * n) * len(t.groups) + "}")
        out.append(r"\toprule")
        out.append("Model & " + " & ".join(rf"\multicolumn{{{n}}}{{c}}{{{esc(g)}}}" for g in t.groups) + r" \\")
        arrows = {"known": r"$\uparrow$", "unknown": r"$\uparrow$", "dabs": r"$\downarrow$",
                  "drel": r"$\downarrow$", "hm": r"$\uparrow$"}
        out.append(" & " + " & ".join(f"{name} {arrows[k]}" for _ in t.groups for k, name in COLUMNS) + r" \\")
        out.append(r"\midrule")
        for label, cells in t.rows:
            vals = [_fmt_cell(c, k, pm=r" $\pm$ ") for c in cells for k, _ in COLUMNS]
            out.append(" & ".join([esc(label)] + vals) + r" \\")
        out.append(r"\bottomrule")
        out.append(r"\end{tabular}")
        out.extend(rf"\par\footnotesize {esc(n)}" for n in t.notes)
        out.append(r"\end{table}")
        out.append("")
    return "\n".join(out)


def render_json(tables: list[Table]) -> str:
    data = [{"title": t.title, "groups": t.groups,
             "rows": [{"model": label, "transductive": label in t.transductive, "values": dict(zip(t.groups, cells))}
                      for label, cells in t.rows], "notes": t.notes}
            for t in tables]
    return json.dumps(data, indent=2) + "\n"


RENDERERS = {"markdown": render_markdown, "csv": render_csv, "latex": render_latex, "json": render_json}


def render(tables: list[Table], fmt: str) -> str:
    if fmt not in RENDERERS:
        raise TabenchError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return RENDERERS[fmt](tables)
