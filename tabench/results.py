"""The results format of one protocol run (see docs/results.md):

    RUN/
      results.json   {"dataset", "model", "level", "directions": [{"train_set": 1, "known", "unknown",
                      "dabs", "drel", "hm"}, {"train_set": 2, ...}], "mean": {...}}
      predictions/train{1,2}_{known,unknown}.csv   columns: path, true, pred (ids in that evaluation's label space)

results.json is always derived from the prediction files (`write_results`), and `load_run` refuses a run
whose results.json disagrees with its predictions.
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from tabench import TabenchError
from tabench.io import atomic_write_json, atomic_write_text
from tabench.metrics import KEYS, accuracy, mean_over, transfer

PRED_COLUMNS = ("path", "true", "pred")
KINDS = ("known", "unknown")
TRAIN_SETS = (1, 2)
LEVELS = ("coarse", "fine")
TOLERANCE = 0.01  # results.json values may be rounded to two decimals


@dataclass(frozen=True)
class Prediction:
    path: str
    true: int
    pred: int


def predictions_path(run_dir: str | Path, train_set: int, kind: str) -> Path:
    if kind not in KINDS or train_set not in TRAIN_SETS:
        raise ValueError(f"bad direction {train_set}/{kind}")
    return Path(run_dir) / "predictions" / f"train{train_set}_{kind}.csv"


def write_predictions(run_dir: str | Path, train_set: int, kind: str, preds: Iterable[Prediction]) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(PRED_COLUMNS)
    for p in preds:
        w.writerow([p.path, int(p.true), int(p.pred)])
    path = predictions_path(run_dir, train_set, kind)
    atomic_write_text(path, buf.getvalue())
    return path


def read_predictions(run_dir: str | Path, train_set: int, kind: str) -> list[Prediction]:
    path = predictions_path(run_dir, train_set, kind)
    if not path.is_file():
        raise TabenchError(f"{run_dir}: missing {path.relative_to(run_dir)}")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header[:3]) != PRED_COLUMNS:
            raise TabenchError(f"{path}: header must be path,true,pred")
        out = []
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                out.append(Prediction(row[0], int(row[1]), int(row[2])))
            except (IndexError, ValueError):
                raise TabenchError(f"{path}:{lineno}: expected path,true,pred with integer labels") from None
    if not out:
        raise TabenchError(f"{path}: no predictions")
    return out


def direction_metrics(run_dir: str | Path, train_set: int) -> dict:
    acc = {k: accuracy([p.true for p in ps], [p.pred for p in ps])
           for k in KINDS for ps in [read_predictions(run_dir, train_set, k)]}
    return {"train_set": train_set, **transfer(acc["known"], acc["unknown"])}


def compute_results(run_dir: str | Path, dataset: str, model: str, level: str) -> dict:
    if level not in LEVELS:
        raise TabenchError(f"level must be coarse or fine, got {level!r}")
    directions = [direction_metrics(run_dir, s) for s in TRAIN_SETS]
    return {"dataset": dataset, "model": model, "level": level, "directions": directions,
            "mean": mean_over(directions)}


def write_results(run_dir: str | Path, dataset: str, model: str, level: str, extra: dict | None = None) -> dict:
    """Compute results.json from the four prediction files and write it atomically. `extra` adds keys
    (e.g. config, timings) that the format does not define; readers ignore unknown keys."""
    res = compute_results(run_dir, dataset, model, level)
    if extra:
        res = {**res, **{k: v for k, v in extra.items() if k not in res}}
    atomic_write_json(Path(run_dir) / "results.json", res)
    return res


def _close(a, b) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b) or b is None
    return b is not None and abs(float(a) - float(b)) <= TOLERANCE


def load_run(run_dir: str | Path) -> dict:
    """Read results.json and re-derive every metric from the predictions; raise if they disagree."""
    run_dir = Path(run_dir)
    path = run_dir / "results.json"
    if not path.is_file():
        raise TabenchError(f"{run_dir}: not a finished run (no results.json)")
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        dataset, model, level = stored["dataset"], stored["model"], stored["level"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise TabenchError(f"{path}: malformed results.json ({e})") from None
    if isinstance(stored.get("seeds"), list):
        return _load_multi_seed(run_dir, stored)
    fresh = compute_results(run_dir, dataset, model, level)
    by_set = {d.get("train_set"): d for d in stored.get("directions", [])}
    for d in fresh["directions"]:
        s = by_set.get(d["train_set"])
        for k in KEYS:
            if s is None or not _close(d[k], s.get(k)):
                got = None if s is None else s.get(k)
                raise TabenchError(f"{run_dir}: results.json says {k}={got} for train_set {d['train_set']}, "
                                   f"but the predictions give {d[k]:.2f}; refusing this run")
    return fresh


def _load_multi_seed(run_dir: Path, stored: dict) -> dict:
    """A multi-seed run (tabench.seeds): load every seed run, re-aggregate, and check results.json against it."""
    from tabench.seeds import aggregate

    dirs = [run_dir / d for d in stored.get("seed_runs") or [f"seed{s}" for s in stored["seeds"]]]
    fresh = aggregate([load_run(d) for d in dirs], dirs)
    checks = [(f"mean {k}", fresh["mean"][k], stored.get("mean", {}).get(k)) for k in KEYS]
    stored_dirs = {d.get("train_set"): d for d in stored.get("directions", [])}
    for d in fresh["directions"]:
        checks += [(f"{k} for train_set {d['train_set']}", d[k], stored_dirs.get(d["train_set"], {}).get(k))
                   for k in KEYS]
    for what, value, got in checks:
        if not _close(value, got):
            raise TabenchError(f"{run_dir}: results.json says {what}={got}, but its seed runs give {value:.2f}; "
                               "refusing this run")
    return {**fresh, "seeds": list(stored["seeds"]), "seed_runs": [d.name for d in dirs]}
