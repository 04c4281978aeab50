"""Several seeds of one protocol run, and how sure a number is: means, standard deviations and bootstrap intervals.

    tabench benchmark --data DATA --out RUN --seeds 0,1,2     # RUN/seed0/, RUN/seed1/, RUN/seed2/ + RUN/results.json
    tabench report RUN --ci                                   # mean ± std, and 95 % intervals
    tabench compare RUN_A RUN_B                               # HM difference with a paired bootstrap interval

The top-level results.json of a multi-seed run has the usual keys, with every value the mean over seeds
(`directions[i][k]` = mean of the seed runs' `directions[i][k]`; `mean[k]` = mean of their `mean[k]`), plus
`std` (same keys: the sample standard deviation over seeds) and `ci95` (same keys, each [low, high]).

Why a two-level bootstrap: a result varies with the training seed and with which test videos happened to be drawn.
Each bootstrap replicate draws the seeds with replacement and, independently, the test videos of each evaluation set
(Set 1 val and Set 2 val) with replacement; the videos are drawn once per set and replicate, so a set that is
the known context of one direction and the unknown context of the other is resampled consistently, and the same
draw is used for every seed (they are evaluated on the same videos). The metrics are recomputed per seed on the
drawn videos and averaged over the drawn seeds; the interval is the 2.5-97.5 percentile range. The generator is
seeded, so recomputing the intervals gives the same numbers (`load_run` checks results.json against them).

`compare` pairs the two runs on the test videos they share: one video draw per replicate serves both runs (seeds
are drawn for each run apart), so the interval is for the difference itself, narrower than two separate intervals.
Written here (not scipy.stats.bootstrap) because the resampling is hierarchical (seeds x videos, shared across
directions and across the two compared runs), which no library function does.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from tabench import TabenchError
from tabench.io import atomic_write_json
from tabench.metrics import KEYS

SAMPLES = 2000   # bootstrap replicates
RNG_SEED = 0     # fixed: intervals are reproducible
TRAIN_SETS = (1, 2)


def parse_seeds(text: str | Sequence[int]) -> list[int]:
    """"0,1,2" -> [0, 1, 2]; refuses empty lists, non-integers, negatives and repeats."""
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",")]
        try:
            seeds = [int(p) for p in parts]
        except ValueError:
            raise TabenchError(f"--seeds expects comma-separated integers such as 0,1,2, got {text!r}") from None
    else:
        seeds = [int(s) for s in text]
    if not seeds:
        raise TabenchError("--seeds needs at least one seed")
    if any(s < 0 for s in seeds):
        raise TabenchError(f"seeds must be non-negative, got {seeds}")
    if len(set(seeds)) != len(seeds):
        raise TabenchError(f"--seeds repeats a seed: {seeds}")
    return seeds


def seed_dir(run_dir: str | Path, seed: int) -> Path:
    return Path(run_dir) / f"seed{int(seed)}"


def is_multi_seed(stored: dict) -> bool:
    return isinstance(stored.get("seeds"), list)


# ------------------------------------------------------------------------------------ predictions as arrays
def _correct_by_set(run_dir: Path) -> dict[int, dict[int, tuple[list[str], np.ndarray]]]:
    """{train_set: {eval_set: (paths, correct)}} of one single-seed run, videos sorted by path."""
    from tabench.results import read_predictions

    out: dict = {}
    for k in TRAIN_SETS:
        out[k] = {}
        for kind, eval_set in (("known", k), ("unknown", 3 - k)):
            ps = sorted(read_predictions(run_dir, k, kind), key=lambda p: p.path)
            out[k][eval_set] = ([p.path for p in ps], np.array([p.true == p.pred for p in ps], dtype=np.float64))
    return out


def _seed_run_dirs(run_dir: Path) -> list[Path]:
    """The single-seed runs behind a run directory: itself, or its seed runs (from its results.json)."""
    path = run_dir / "results.json"
    if path.is_file():
        stored = json.loads(path.read_text(encoding="utf-8"))
        if is_multi_seed(stored):
            return [run_dir / d for d in stored.get("seed_runs") or [f"seed{s}" for s in stored["seeds"]]]
    return [run_dir]


class _Correct:
    """Per evaluation set: the video paths and a (seeds, videos) matrix of 0/1 correctness, for every direction."""

    def __init__(self, run_dirs: Sequence[Path]):
        per_seed = [_correct_by_set(Path(d)) for d in run_dirs]
        self.paths: dict[tuple[int, int], list[str]] = {}
        self.matrix: dict[tuple[int, int], np.ndarray] = {}
        for k in TRAIN_SETS:
            for j in (k, 3 - k):
                paths = per_seed[0][k][j][0]
                for d, ps in zip(run_dirs, per_seed):
                    if ps[k][j][0] != paths:
                        raise TabenchError(f"{d}: its train{k} predictions are on other videos than "
                                           f"{run_dirs[0]}'s; seed runs must share their test videos")
                self.paths[k, j] = paths
                self.matrix[k, j] = np.stack([ps[k][j][1] for ps in per_seed])

    @property
    def num_seeds(self) -> int:
        return next(iter(self.matrix.values())).shape[0]

    def restrict(self, keep: dict[int, list[str]]) -> "_Correct":
        """Only the videos whose paths are in keep[eval_set] (ordered as there)."""
        out = object.__new__(_Correct)
        out.paths, out.matrix = {}, {}
        for (k, j), paths in self.paths.items():
            pos = {p: i for i, p in enumerate(paths)}
            idx = [pos[p] for p in keep[j]]
            out.paths[k, j], out.matrix[k, j] = list(keep[j]), self.matrix[k, j][:, idx]
        return out

    def eval_set_paths(self) -> dict[int, list[str]]:
        """The videos of each evaluation set (the union over the directions that use it must agree)."""
        out: dict[int, list[str]] = {}
        for (k, j), paths in self.paths.items():
            out[j] = sorted(set(out[j]) & set(paths)) if j in out else list(paths)
        return out


def _transfer(known: np.ndarray, unknown: np.ndarray) -> dict[str, np.ndarray]:
    """metrics.transfer on arrays (percentages)."""
    dabs = known - unknown
    with np.errstate(divide="ignore", invalid="ignore"):
        drel = np.where(known > 0, 100.0 * dabs / np.where(known > 0, known, 1.0), np.nan)
        s = known + unknown
        hm = np.where(s > 0, 2 * known * unknown / np.where(s > 0, s, 1.0), 0.0)
    return {"known": known, "unknown": unknown, "dabs": dabs, "drel": drel, "hm": hm}


def _video_weights(rng: np.random.Generator, n: int, samples: int) -> np.ndarray:
    """(samples, n) resampling counts (each row sums to n)."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=samples).astype(np.float64)


def _replicates(c: _Correct, weights: dict[int, np.ndarray], seed_draw: np.ndarray) -> dict:
    """{train_set: {key: (samples,)}, "mean": {key: (samples,)}} for one run under given video weights and a
    (samples, draws) seed draw."""
    per_dir = {}
    for k in TRAIN_SETS:
        acc = {}
        for j in (k, 3 - k):
            w = weights[j]
            acc[j] = 100.0 * (w @ c.matrix[k, j].T) / w.sum(1, keepdims=True)  # (samples, seeds)
        m = _transfer(acc[k], acc[3 - k])
        rows = np.arange(seed_draw.shape[0])[:, None]
        with warnings.catch_warnings():  # drel is undefined (nan) where a draw has known accuracy 0
            warnings.simplefilter("ignore", RuntimeWarning)
            per_dir[k] = {key: np.nanmean(v[rows, seed_draw], axis=1) if key == "drel" else v[rows, seed_draw].mean(1)
                          for key, v in m.items()}
    per_dir["mean"] = {key: (per_dir[1][key] + per_dir[2][key]) / 2 for key in KEYS}
    return per_dir


def _interval(v: np.ndarray) -> list[float]:
    v = v[np.isfinite(v)]
    if v.size == 0:
        return [float("nan"), float("nan")]
    lo, hi = np.percentile(v, [2.5, 97.5])
    return [float(lo), float(hi)]


def bootstrap_ci(run_dirs: Sequence[str | Path], samples: int = SAMPLES, seed: int = RNG_SEED) -> dict:
    """ci95 of the seed-averaged metrics of single-seed runs that share their test videos:
    {"directions": [{"train_set", key: [low, high]}...], "mean": {key: [low, high]}}."""
    c = _Correct([Path(d) for d in run_dirs])
    sets = c.eval_set_paths()
    c = c.restrict(sets)
    rng = np.random.default_rng(seed)
    weights = {j: _video_weights(rng, len(p), samples) for j, p in sorted(sets.items())}
    s = c.num_seeds
    draw = rng.integers(0, s, size=(samples, s)) if s > 1 else np.zeros((samples, 1), dtype=np.int64)
    rep = _replicates(c, weights, draw)
    return {"directions": [{"train_set": k, **{key: _interval(rep[k][key]) for key in KEYS}} for k in TRAIN_SETS],
            "mean": {key: _interval(rep["mean"][key]) for key in KEYS}}


def run_ci(run_dir: str | Path) -> dict:
    """ci95 of a run directory, single- or multi-seed."""
    return bootstrap_ci(_seed_run_dirs(Path(run_dir)))


# ---------------------------------------------------------------------------------------------- aggregation
def aggregate(seed_results: Sequence[dict], run_dirs: Sequence[str | Path]) -> dict:
    """The multi-seed results dict from the seed runs' (load_run) results, in seed order."""
    if not seed_results:
        raise TabenchError("no seed runs to aggregate")
    first = seed_results[0]
    for r, d in zip(seed_results, run_dirs):
        for key in ("dataset", "model", "level"):
            if r[key] != first[key]:
                raise TabenchError(f"{d}: {key} is {r[key]!r}, but {run_dirs[0]} has {first[key]!r}")
    ddof = 1 if len(seed_results) > 1 else 0

    def stats(get):
        v = np.array([get(r) for r in seed_results], dtype=np.float64)
        return float(np.mean(v)), float(np.std(v, ddof=ddof))

    directions, std_dirs = [], []
    for i, k in enumerate(TRAIN_SETS):
        m, s = {"train_set": k}, {"train_set": k}
        for key in KEYS:
            m[key], s[key] = stats(lambda r: r["directions"][i][key])
        directions.append(m)
        std_dirs.append(s)
    mean, std_mean = {}, {}
    for key in KEYS:
        mean[key], std_mean[key] = stats(lambda r: r["mean"][key])
    return {"dataset": first["dataset"], "model": first["model"], "level": first["level"],
            "directions": directions, "mean": mean,
            "std": {"directions": std_dirs, "mean": std_mean},
            "ci95": bootstrap_ci(run_dirs),
            "bootstrap": {"samples": SAMPLES, "rng_seed": RNG_SEED, "over": "seeds and test videos",
                          "interval": "percentile 2.5-97.5"}}


def write_seed_results(run_dir: str | Path, seeds: Sequence[int], extra: dict | None = None) -> dict:
    """Aggregate RUN/seed{s}/ into RUN/results.json and return it."""
    from tabench.results import load_run

    run_dir = Path(run_dir)
    dirs = [seed_dir(run_dir, s) for s in seeds]
    res = aggregate([load_run(d) for d in dirs], dirs)
    res = {**res, "seeds": [int(s) for s in seeds], "seed_runs": [d.name for d in dirs]}
    for key, value in (extra or {}).items():
        res.setdefault(key, value)
    atomic_write_json(run_dir / "results.json", res)
    return res


def run_seeds(cfg: dict, data, out, seeds: Sequence[int], level: str = "coarse",
              task: str = "classification") -> dict:
    """The protocol once per seed (RUN/seed{s}/, each resumable), then the top-level results.json."""
    from tabench.protocol import format_table, run_benchmark
    from tabench.train import is_main

    out = Path(out)
    seeds = parse_seeds(seeds)
    per_seed = {}
    for s in seeds:
        if is_main():
            print(f"seed {s}: {seed_dir(out, s)}", flush=True)
        per_seed[s] = run_benchmark({**cfg, "seed": int(s)}, data, seed_dir(out, s), level=level, task=task)
    if not is_main():
        return {}
    first = per_seed[seeds[0]]
    extra = {k: first[k] for k in ("disentangle", "class_text", "text_classifier", "transductive", "task")
             if k in first}
    if "disentangle" in first:  # the settings, and the fine branch's known fine accuracy as mean and std over seeds
        fk = [per_seed[s]["disentangle"]["fine_known"] for s in seeds]
        dis = {k: v for k, v in first["disentangle"].items() if k != "fine_known"}
        dis["fine_known"] = {k: float(np.mean([f[k] for f in fk])) for k in fk[0]}
        dis["fine_known_std"] = {k: float(np.std([f[k] for f in fk], ddof=1 if len(fk) > 1 else 0)) for k in fk[0]}
        extra["disentangle"] = dis
    extra["config"] = {k: v for k, v in first.get("config", {}).items() if k != "seed"}
    res = write_seed_results(out, seeds, extra=extra)
    print(format_table(res))
    return res


# ------------------------------------------------------------------------------------------------- compare
def compare_runs(run_a: str | Path, run_b: str | Path, samples: int = SAMPLES, seed: int = RNG_SEED) -> dict:
    """HM of B minus HM of A per direction and for the mean, with a paired bootstrap 95 % interval over the test
    videos both runs were evaluated on (and over each run's seeds)."""
    ca, cb = _Correct(_seed_run_dirs(Path(run_a))), _Correct(_seed_run_dirs(Path(run_b)))
    pa, pb = ca.eval_set_paths(), cb.eval_set_paths()
    shared = {j: sorted(set(pa[j]) & set(pb[j])) for j in pa}
    for j, paths in shared.items():
        if not paths:
            raise TabenchError(f"{run_a} and {run_b} share no test video of Set {j} val; nothing to compare")
    ca, cb = ca.restrict(shared), cb.restrict(shared)
    rng = np.random.default_rng(seed)
    weights = {j: _video_weights(rng, len(p), samples) for j, p in sorted(shared.items())}

    def draw(c):
        s = c.num_seeds
        return rng.integers(0, s, size=(samples, s)) if s > 1 else np.zeros((samples, 1), dtype=np.int64)

    ones = {j: np.ones((1, len(p))) for j, p in shared.items()}
    point_a = _replicates(ca, ones, np.arange(ca.num_seeds)[None])
    point_b = _replicates(cb, ones, np.arange(cb.num_seeds)[None])
    rep_a, rep_b = _replicates(ca, weights, draw(ca)), _replicates(cb, weights, draw(cb))
    rows = []
    for key, name in ((1, "Set 1"), (2, "Set 2"), ("mean", "Mean")):
        a, b = float(point_a[key]["hm"][0]), float(point_b[key]["hm"][0])
        lo, hi = _interval(rep_b[key]["hm"] - rep_a[key]["hm"])
        rows.append({"direction": name, "hm_a": a, "hm_b": b, "diff": b - a, "ci95": [lo, hi],
                     "excludes_zero": bool(lo > 0 or hi < 0)})
    return {"run_a": str(run_a), "run_b": str(run_b), "seeds_a": ca.num_seeds, "seeds_b": cb.num_seeds,
            "shared_videos": {f"set{j}_val": len(p) for j, p in sorted(shared.items())},
            "samples": samples, "rows": rows}


def format_compare(res: dict) -> str:
    lines = [f"HM difference B - A  (A = {res['run_a']}, {res['seeds_a']} seed(s); "
             f"B = {res['run_b']}, {res['seeds_b']} seed(s))",
             "paired bootstrap over the shared test videos ("
             + ", ".join(f"{k}: {v}" for k, v in res["shared_videos"].items()) + f"), {res['samples']} replicates",
             f"{'':<8}{'HM A':>9}{'HM B':>9}{'B - A':>9}   {'95% interval':<18} excludes 0"]
    for r in res["rows"]:
        lo, hi = r["ci95"]
        lines.append(f"{r['direction']:<8}{r['hm_a']:>9.2f}{r['hm_b']:>9.2f}{r['diff']:>+9.2f}   "
                     f"{f'[{lo:+.2f}, {hi:+.2f}]':<18} {'yes' if r['excludes_zero'] else 'no'}")
    return "\n".join(lines)
