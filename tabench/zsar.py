"""The zero-shot action recognition (ZSAR) protocol of seed 004 (its "M18"), on a tabench dataset.

    tabench zsar --data DATA --splits 10 --seen-fraction 0.5 --seed S --out DIR

The fine classes of both sets (those with train and val videos in the dataset; the others are listed under
`excluded`) are pooled and split at random into seen and unseen classes, `--splits` times
(the splits follow from `--seed` alone, so two runs with the same seed test the same class splits). For each
split a video-text model trains on the seen classes' train videos (validating on their val videos), then
classifies the unseen classes' val videos among the unseen classes only, from their class texts. Top-1 and
top-5 accuracy are reported as mean ± std (sample std) over the splits.

    DIR/zsar.yaml                      the settings (a re-run must use the same ones; finished splits are skipped)
    DIR/split{i}/train/                the training run of split i (resumable)
    DIR/split{i}/predictions.csv       path, true, pred, top5 (space-separated class ids, best first), ids in the
                                       split's unseen-class order
    DIR/results.json                   {"protocol": "zsar", "top1": {"mean", "std", "per_split"}, "top5": {...},
                                        "splits": [{"seen": [...], "unseen": [...]}], ...}, always re-derived
                                       from the prediction files

With `--transductive`, a method that uses the unseen classes' texts in training (CoCo's cross-action invariance
mining) gets them; results.json then says `transductive: true`.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import yaml

from tabench import TabenchError
from tabench.io import atomic_write_json, atomic_write_text

ZSAR_COLUMNS = ("path", "true", "pred", "top5")


def classes_with_videos(dataset) -> tuple[list, list]:
    """(fine classes with train and val videos in the dataset, the other fine classes): only the former can be
    seen (trained on) or unseen (tested on)."""
    have = {split: {(e.set, e.fine_id) for e in dataset.entries if e.split == split} for split in ("train", "val")}
    usable = [f for f in sorted(dataset.taxonomy.fine, key=lambda f: (f.set, f.id))
              if (f.set, f.id) in have["train"] and (f.set, f.id) in have["val"]]
    return usable, [f for f in dataset.taxonomy.fine if f not in usable]


def make_splits(classes: list, n_splits: int, seen_fraction: float, seed: int) -> list[dict]:
    """`n_splits` random seen / unseen partitions of `classes` (fine classes of both sets), each a dict of Fine
    lists in the classes' order."""
    if n_splits < 1:
        raise TabenchError(f"--splits must be >= 1, got {n_splits}")
    if not 0.0 < seen_fraction < 1.0:
        raise TabenchError(f"--seen-fraction must be between 0 and 1 (exclusive), got {seen_fraction}")
    n_seen = int(round(seen_fraction * len(classes)))
    if not 1 <= n_seen < len(classes):
        raise TabenchError(f"--seen-fraction {seen_fraction} leaves no seen or no unseen class of {len(classes)}")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_splits):
        perm = rng.permutation(len(classes))
        seen, unseen = sorted(perm[:n_seen].tolist()), sorted(perm[n_seen:].tolist())
        out.append({"seen": [classes[i] for i in seen], "unseen": [classes[i] for i in unseen]})
    return out


def predictions_file(out: Path, i: int) -> Path:
    return Path(out) / f"split{i}" / "predictions.csv"


def write_zsar_predictions(path: Path, pred: dict) -> None:
    scores = pred["scores"]
    top = scores.topk(min(5, scores.shape[1]), dim=1).indices.tolist()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ZSAR_COLUMNS)
    for p, t, q, k in zip(pred["path"], pred["true"], pred["pred"], top):
        w.writerow([p, int(t), int(q), " ".join(str(int(c)) for c in k)])
    atomic_write_text(path, buf.getvalue())


def read_zsar_predictions(path: Path) -> list[tuple[str, int, int, list[int]]]:
    if not path.is_file():
        raise TabenchError(f"missing {path}")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or tuple(rows[0][:4]) != ZSAR_COLUMNS:
        raise TabenchError(f"{path}: header must be {','.join(ZSAR_COLUMNS)}")
    out = []
    for n, r in enumerate(rows[1:], start=2):
        try:
            top = [int(c) for c in r[3].split()]
            if int(r[2]) != top[0]:
                raise ValueError
            out.append((r[0], int(r[1]), int(r[2]), top))
        except (IndexError, ValueError):
            raise TabenchError(f"{path}:{n}: expected path,true,pred,top5 with pred the first of top5") from None
    if not out:
        raise TabenchError(f"{path}: no predictions")
    return out


def split_accuracy(path: Path) -> tuple[float, float]:
    """(top-1, top-5) percent of one split's prediction file."""
    rows = read_zsar_predictions(path)
    top1 = 100.0 * sum(t == p for _, t, p, _ in rows) / len(rows)
    top5 = 100.0 * sum(t in k[:5] for _, t, _, k in rows) / len(rows)
    return top1, top5


def _stats(values: list[float]) -> dict:
    arr = np.asarray(values, dtype=float)
    std = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return {"mean": float(arr.mean()), "std": std, "per_split": [float(v) for v in arr]}


def compute_results(out: Path, n_splits: int) -> dict:
    accs = [split_accuracy(predictions_file(out, i)) for i in range(n_splits)]
    return {"top1": _stats([a[0] for a in accs]), "top5": _stats([a[1] for a in accs])}


def load_zsar(out: str | Path) -> dict:
    """results.json of a ZSAR run, checked against its prediction files."""
    out = Path(out)
    path = out / "results.json"
    if not path.is_file():
        raise TabenchError(f"{out}: not a finished ZSAR run (no results.json)")
    stored = json.loads(path.read_text(encoding="utf-8"))
    fresh = compute_results(out, len(stored.get("splits", [])))
    for key in ("top1", "top5"):
        if any(abs(a - b) > 0.01 for a, b in zip(fresh[key]["per_split"], stored[key]["per_split"])):
            raise TabenchError(f"{out}: results.json disagrees with the prediction files ({key}); refusing it")
    return {**stored, **fresh}


def run_zsar(cfg: dict, data: str | Path, out: str | Path, n_splits: int = 10, seen_fraction: float = 0.5,
             seed: int = 0) -> dict:
    """Train and test every split (resumable), then write results.json. Returns it."""
    import torch

    from tabench import classtext
    from tabench.data.format import open_dataset
    from tabench.evaluate import predict
    from tabench.protocol import check_level, resolve_clip_shape, _first_difference
    from tabench.train import (amp_setup, is_main, label_space, load_trained_model, make_dataset, resolve_model,
                               set_label_texts, setup, train)

    out = Path(out)
    dataset = open_dataset(data)
    taxonomy = dataset.taxonomy
    usable, excluded = classes_with_videos(dataset)
    if excluded:
        print(f"zsar: {len(excluded)} of {len(taxonomy.fine)} fine classes have no train or no val videos in "
              f"{data} and are left out of the splits (listed in results.json under `excluded`)", flush=True)
    splits = make_splits(usable, n_splits, seen_fraction, seed)
    cfg = resolve_model(cfg)
    check_level(cfg, "fine")
    cfg = resolve_clip_shape(cfg)
    settings = {"data": str(Path(data).resolve()), "splits": n_splits, "seen_fraction": float(seen_fraction),
                "seed": int(seed), "config": {k: v for k, v in cfg.items() if k not in _runtime_keys()}}
    if out.exists() and not out.is_dir():
        raise TabenchError(f"--out {out} is a file, not a directory")
    out.mkdir(parents=True, exist_ok=True)
    saved_path = out / "zsar.yaml"
    if saved_path.is_file():
        saved = yaml.safe_load(saved_path.read_text(encoding="utf-8")) or {}
        if saved != settings:
            raise TabenchError(f"{out} was started with different settings ({_first_difference(saved, settings)}); "
                               "use another --out or the original settings")
    elif is_main():
        atomic_write_text(saved_path, yaml.safe_dump(settings, sort_keys=False))

    device, _, _ = setup(cfg)
    amp_dtype, _ = amp_setup(cfg, device)
    for i, sp in enumerate(splits):
        if predictions_file(out, i).is_file():
            continue
        print(f"split {i + 1}/{n_splits}: training on {len(sp['seen'])} seen classes", flush=True)
        run = out / f"split{i}" / "train"
        train(cfg, data, None, run, level="fine", resume=True, classes=sp["seen"],
              unseen=sp["unseen"] if cfg.get("transductive") else None)
        model, ckpt = load_trained_model(run, cfg.get("eval_checkpoint", "last"), device)
        tcfg = ckpt["config"]
        ds = make_dataset(cfg, data, None, "val", "fine", False, int(tcfg["frames"]), int(tcfg["size"]),
                          views=(int(cfg["eval_clips"]), int(cfg["eval_crops"])), classes=sp["unseen"])
        if len(ds) == 0:
            raise TabenchError(f"{data}: no val videos of split {i}'s unseen classes")
        set_label_texts(model, label_space(tcfg, taxonomy, None, "fine", classes=sp["unseen"]))
        with torch.no_grad():
            pred = predict(model, ds, device, int(cfg["batch_size"]), int(cfg["workers"]), amp_dtype,
                           progress=bool(cfg.get("progress", True)), desc=f"zsar split {i + 1} unseen")
        if is_main():
            write_zsar_predictions(predictions_file(out, i), pred)
    if not is_main():
        return {}
    res = {"protocol": "zsar", "dataset": taxonomy.name, "model": cfg["model"], **compute_results(out, n_splits),
           "seen_fraction": float(seen_fraction), "seed": int(seed),
           "splits": [{"seen": [f.name for f in sp["seen"]], "unseen": [f.name for f in sp["unseen"]]}
                      for sp in splits],
           "excluded": [f.name for f in excluded], "class_text": classtext.settings(cfg), "transductive": bool(cfg.get("transductive")), "config": cfg}
    atomic_write_json(out / "results.json", res)
    print(format_zsar(res))
    return res


def _runtime_keys():
    from tabench.protocol import RUNTIME_KEYS

    return RUNTIME_KEYS


def format_zsar(res: dict) -> str:
    n = len(res["splits"])
    mark = " (transductive)" if res.get("transductive") else ""
    lines = [f"{res['model']} on {res['dataset']}: ZSAR, {n} splits, {res['seen_fraction']:.0%} seen{mark}"]
    for key in ("top1", "top5"):
        s = res[key]
        lines.append(f"  {key}: {s['mean']:.2f} ± {s['std']:.2f}")
    return "\n".join(lines)
