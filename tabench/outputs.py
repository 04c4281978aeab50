"""What an output folder already holds, so that no writer (`build`, `synth generate`, `benchmark`, `train`)
mixes its files into, or replaces, something of another kind: one line instead of a clobbered dataset or run."""
from __future__ import annotations

import json
from pathlib import Path

from tabench import TabenchError

DATASET_MARKERS = ("taxonomy.json", "manifest.csv")
BENCHMARK_MARKERS = ("benchmark.yaml", "results.json", "predictions")
TRAINING_MARKERS = ("last.pt", "best.pt", "summary.json")


def holds(out: str | Path) -> tuple[str, str | None] | None:
    """(kind, detail) of what `out` is: ("file", None), ("dataset", taxonomy name or None), ("benchmark", None),
    ("training", None), ("other", None) for a folder with other files; None when it is missing or empty."""
    out = Path(out)
    if not out.exists() and not out.is_symlink():
        return None
    if not out.is_dir():
        return "file", None
    if any((out / m).exists() for m in DATASET_MARKERS):
        name = None
        try:
            name = json.loads((out / "taxonomy.json").read_text(encoding="utf-8")).get("name")
        except (OSError, ValueError, AttributeError):
            pass
        return "dataset", name
    if any((out / m).exists() for m in BENCHMARK_MARKERS):
        return "benchmark", None
    if any((out / m).exists() for m in TRAINING_MARKERS):
        return "training", None
    if any(out.iterdir()):
        return "other", None
    return None


def _what(kind: str, detail: str | None) -> str:
    return {"file": "is a file, not a folder", "dataset": f"holds a {detail or 'tabench'} dataset",
            "benchmark": "holds a benchmark run", "training": "holds a training run",
            "other": "holds other files"}[kind]


def claim(out: str | Path, writing: str, dataset: str | None = None) -> None:
    """Refuse `out` unless it is missing, empty or already holds what `writing` writes there:
    writing="dataset" (of taxonomy `dataset`; other files are allowed, e.g. an interrupted generation's videos),
    "benchmark" or "training"."""
    found = holds(out)
    if found is None:
        return
    kind, detail = found
    if writing == "dataset":
        if kind == "other" or (kind == "dataset" and (detail is None or dataset is None or detail == dataset)):
            return
        hint = "pick an empty --out (or the folder of that same dataset to add to it)"
    elif writing == "benchmark":
        if kind == "benchmark":
            return
        hint = "pick an empty or new --out for the run"
    elif writing == "training":
        if kind == "training" or (kind == "other" and (Path(out) / "config.yaml").is_file()):
            return
        hint = "pick an empty or new --out for the training run"
    else:
        raise ValueError(writing)
    raise TabenchError(f"--out {out} {_what(kind, detail)}; {hint}")
