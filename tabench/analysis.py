"""Per-class and confusion analyses of protocol runs (the paper's Fig. 7/9 and its per-class discussion), computed
from the runs' prediction files, the dataset's taxonomy and its manifest.

A run's predictions are in each evaluation's label space (`tabench.results`). Here every prediction is mapped to
the video's coarse class and, through the manifest, to its fine class:

- per coarse class: Known = accuracy on that class's videos seen in known context (both directions pooled),
  Unknown = the same in unknown context; drop = Known - Unknown;
- per fine class f of Set s: Known = accuracy on f's videos of the model trained on Set s (f's context was
  seen), Unknown = accuracy on the same videos of the model trained on the other set (zero-shot at the fine
  level); so each fine class has one known and one unknown accuracy;
- a prediction is correct at the run's level (coarse id for coarse runs, fine id for fine runs); confusion
  matrices are always coarse: fine predictions are mapped to their coarse class.

Multi-seed runs (`tabench benchmark --seeds`: RUN/seed<s>/ sub-runs) pool the predictions of all their seeds.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tabench import TabenchError
from tabench.results import KINDS, TRAIN_SETS, Prediction, load_run, read_predictions
from tabench.taxonomy import Taxonomy

METRICS = ("known", "unknown", "dabs", "drel", "hm")


@dataclass
class Run:
    """One protocol run loaded for analysis."""

    path: Path
    name: str  # the run directory's name, made unique among the runs of one report
    results: dict  # recomputed from the predictions (`results.load_run`; for seeds runs with std and ci95)
    stored: dict  # results.json as written (config, data, std/ci95 of seeds runs, ...)
    taxonomy: Taxonomy | None
    data: Path | None  # the dataset directory, when it still exists
    preds: dict  # (train_set, kind) -> list[Prediction], pooled over seeds
    fine_by_path: dict | None  # manifest path -> (set, fine_id), when the manifest is readable
    seeds: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the report could not do for this run, shown in it

    @property
    def model(self) -> str:
        return self.results["model"]

    @property
    def dataset(self) -> str:
        return self.results["dataset"]

    @property
    def level(self) -> str:
        return self.results["level"]

    def spread(self, key: str = "std") -> dict | None:
        """`std` or `ci95` of the mean metrics, where the run has them (seeds, or --ci), else None."""
        v = self.results.get(key)
        if isinstance(v, dict) and "mean" in v and isinstance(v["mean"], dict):
            v = v["mean"]
        return v if isinstance(v, dict) and v else None

    def direction_spread(self, train_set: int, key: str = "std") -> dict | None:
        v = self.results.get(key)
        if isinstance(v, dict) and isinstance(v.get("directions"), list):
            for d in v["directions"]:
                if isinstance(d, dict) and d.get("train_set") == train_set:
                    return d
        return None


def seed_dirs(run_dir: Path, stored: dict) -> list[tuple[int, Path]]:
    """The per-seed sub-runs of a multi-seed run (`tabench benchmark --seeds`: RUN/seed<s>/), by seed."""
    seeds = stored.get("seeds")
    if not isinstance(seeds, list):
        return []
    names = stored.get("seed_runs") or [f"seed{s}" for s in seeds]
    return [(int(s), run_dir / n) for s, n in zip(seeds, names)]


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise TabenchError(f"{path}: malformed results.json ({e})") from None


def _open_data(run_dir: Path, stored: dict, notes: list[str]):
    """The run's taxonomy and manifest index, from the dataset directory its results.json names."""
    from tabench.data.format import read_manifest, read_taxonomy

    data = stored.get("data")
    candidates = []
    if data:
        candidates = [Path(data)] if Path(data).is_absolute() else [Path(data), run_dir / data]
    root = next((c for c in candidates if (c / "taxonomy.json").is_file()), None)
    if root is None:
        from tabench import taxonomy as tx

        name = stored.get("dataset")
        where = f"its dataset directory {data!r} is not there" if data else "results.json names no dataset directory"
        if name in tx.NAMES:
            notes.append(f"{run_dir.name}: {where}; class names come from the built-in {name} taxonomy, "
                         "and fine-class breakdowns and example videos are left out")
            return tx.load(name), None, None
        notes.append(f"{run_dir.name}: {where} and {name!r} is no built-in taxonomy; class names, per-class "
                     "breakdowns and confusions are left out")
        return None, None, None
    taxonomy = read_taxonomy(root)
    try:
        fine = {e.path: (e.set, e.fine_id) for e in read_manifest(root)}
    except TabenchError as e:
        notes.append(f"{run_dir.name}: fine-class breakdown left out ({e})")
        fine = None
    return taxonomy, root, fine


def load_analysis_run(run_dir: str | Path, name: str | None = None) -> Run:
    run_dir = Path(run_dir)
    path = run_dir / "results.json"
    if not path.is_file():
        raise TabenchError(f"{run_dir}: not a finished run (no results.json)")
    stored = _read_json(path)
    results = load_run(run_dir)  # checks the predictions (of every seed) against results.json
    seeds = seed_dirs(run_dir, stored)
    pred_dirs = [d for _, d in seeds] or [run_dir]
    notes: list[str] = []
    taxonomy, data, fine = _open_data(run_dir, stored, notes)
    preds = {(s, k): [p for d in pred_dirs for p in read_predictions(d, s, k)] for s in TRAIN_SETS for k in KINDS}
    return Run(run_dir, name or run_dir.name, results, stored, taxonomy, data, preds, fine,
               seeds=[s for s, _ in seeds], notes=notes)


def load_runs(run_dirs) -> list[Run]:
    """Load runs for a report; runs whose directory names clash get their parent's name prefixed."""
    if not run_dirs:
        raise TabenchError("no runs given")
    paths = [Path(d) for d in run_dirs]
    names = [p.resolve().name for p in paths]
    out = []
    for p, n in zip(paths, names):
        if names.count(n) > 1:
            n = f"{p.resolve().parent.name}-{n}"
        out.append(load_analysis_run(p, n))
    seen = Counter(r.name for r in out)
    for r in out:
        if seen[r.name] > 1:
            raise TabenchError(f"two runs are both called {r.name!r}; give them distinct directory names")
    return out


# ----- mapping predictions to classes -----
def eval_set(train_set: int, kind: str) -> int:
    """The set whose val videos an evaluation covers."""
    return train_set if kind == "known" else 3 - train_set


def coarse_of(run: Run, label: int, set_id: int) -> int:
    """A label of the run's label space (at set_id) as a coarse id."""
    if run.level == "coarse":
        return label
    return run.taxonomy.fine_class(set_id, label).coarse_id


def fine_of(run: Run, p: Prediction, set_id: int) -> tuple[int, int] | None:
    """(set, fine id) of a prediction's video, or None where the manifest is not available."""
    if run.level == "fine":
        return set_id, p.true
    if run.fine_by_path is None:
        return None
    return run.fine_by_path.get(p.path)


def class_names(run: Run) -> list[str]:
    return run.taxonomy.coarse_names()


# ----- confusions -----
def confusion_matrix(run: Run, train_set: int, kind: str) -> list[list[int]]:
    """Counts [true coarse][predicted coarse] of one evaluation."""
    n = len(run.taxonomy.coarse)
    m = [[0] * n for _ in range(n)]
    s = eval_set(train_set, kind)
    for p in run.preds[(train_set, kind)]:
        m[coarse_of(run, p.true, s)][coarse_of(run, p.pred, s)] += 1
    return m


@dataclass
class Confusion:
    true: str
    pred: str
    count: int
    share: float  # percent of the true class's videos in this evaluation
    examples: list[str]  # manifest paths of videos with this confusion


def top_confusions(run: Run, train_set: int, kind: str, k: int = 10, examples: int = 2) -> list[Confusion]:
    """The k most frequent coarse confusions (true != predicted) of one evaluation, with example videos."""
    s = eval_set(train_set, kind)
    names = class_names(run)
    pairs: Counter = Counter()
    totals: Counter = Counter()
    paths: dict = {}
    for p in run.preds[(train_set, kind)]:
        t, q = coarse_of(run, p.true, s), coarse_of(run, p.pred, s)
        totals[t] += 1
        if t != q:
            pairs[(t, q)] += 1
            lst = paths.setdefault((t, q), [])
            if len(lst) < examples and p.path not in lst:
                lst.append(p.path)
    ranked = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return [Confusion(names[t], names[q], c, 100.0 * c / totals[t], paths[(t, q)]) for (t, q), c in ranked]


# ----- per-class accuracy -----
@dataclass
class ClassRow:
    name: str
    coarse: str
    set: int | None  # the fine class's set (None for coarse rows)
    known: float
    unknown: float
    n_known: int
    n_unknown: int

    @property
    def drop(self) -> float:
        return self.known - self.unknown


def _acc(hits: list[bool]) -> float:
    return 100.0 * sum(hits) / len(hits) if hits else math.nan


def per_class(run: Run, level: str = "coarse") -> list[ClassRow]:
    """Known vs unknown accuracy per coarse (level="coarse") or fine (level="fine") class, sorted by drop
    (largest first). Fine rows need the manifest for coarse runs; returns [] when it is not available."""
    tax = run.taxonomy
    coarse_names = tax.coarse_names()
    hits: dict = {}  # key -> {"known": [...], "unknown": [...]}
    for (train_set, kind), preds in run.preds.items():
        s = eval_set(train_set, kind)
        for p in preds:
            ok = p.true == p.pred
            if level == "coarse":
                key = coarse_of(run, p.true, s)
            else:
                key = fine_of(run, p, s)
                if key is None:
                    if run.fine_by_path is None:
                        return []
                    raise TabenchError(f"{run.path}: predicted video {p.path!r} is not in the dataset's manifest")
            hits.setdefault(key, {"known": [], "unknown": []})[kind].append(ok)
    rows = []
    for key, h in hits.items():
        if level == "coarse":
            name, coarse, set_id = coarse_names[key], coarse_names[key], None
        else:
            f = tax.fine_class(*key)
            name, coarse, set_id = f.name, coarse_names[f.coarse_id], f.set
        rows.append(ClassRow(name, coarse, set_id, _acc(h["known"]), _acc(h["unknown"]),
                             len(h["known"]), len(h["unknown"])))
    return sorted(rows, key=lambda r: (-(r.drop if not math.isnan(r.drop) else -math.inf), r.name))


# ----- parameter counts -----
def model_params(model: str) -> int | None:
    """The registry's parameter count of a model (400-way head), or None for a model it does not know."""
    from tabench.models import list_models, model_info

    if model not in list_models():
        return None
    return model_info(model).params
