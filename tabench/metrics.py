"""Transfer metrics of the paper (Sec. 3.4 and appendix B), accuracies in percent.

For one direction (train on Set k): known, unknown, dabs = known - unknown, drel = 100 * dabs / known,
hm = 2 * known * unknown / (known + unknown). Over several directions every metric is the mean of the
per-direction values (the paper's Tab. 2/3 are the means of Tab. 6-11: the mean of per-set HMs, not the HM
of the mean accuracies). Also top-k accuracy, mean-class accuracy and a confusion matrix from predictions.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from tabench import TabenchError

KEYS = ("known", "unknown", "dabs", "drel", "hm")


def transfer(known: float, unknown: float) -> dict[str, float]:
    """The five metrics of one direction."""
    known, unknown = float(known), float(unknown)
    for name, v in (("known", known), ("unknown", unknown)):
        if not 0.0 <= v <= 100.0:
            raise TabenchError(f"{name} accuracy must be a percentage in [0, 100], got {v}")
    dabs = known - unknown
    drel = 100.0 * dabs / known if known > 0 else float("nan")
    hm = 2 * known * unknown / (known + unknown) if known + unknown > 0 else 0.0
    return {"known": known, "unknown": unknown, "dabs": dabs, "drel": drel, "hm": hm}


def mean_over(directions: Sequence[dict]) -> dict[str, float]:
    """Mean of each metric over directions (as the paper averages Set 1 and Set 2)."""
    if not directions:
        raise TabenchError("no directions to average")
    return {k: float(np.mean([d[k] for d in directions])) for k in KEYS}


def summarize(pairs: Sequence[tuple[float, float]]) -> dict:
    """{"directions": [...], "mean": {...}} from (known, unknown) pairs."""
    dirs = [transfer(k, u) for k, u in pairs]
    return {"directions": dirs, "mean": mean_over(dirs)}


def _as_arrays(y_true, y_pred):
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape[0] != p.shape[0]:
        raise TabenchError(f"{t.shape[0]} labels but {p.shape[0]} predictions")
    if t.shape[0] == 0:
        raise TabenchError("no predictions")
    return t, p


def accuracy(y_true, y_pred) -> float:
    """Top-1 accuracy in percent from predicted labels."""
    t, p = _as_arrays(y_true, y_pred)
    return float(100.0 * np.mean(t == p))


def topk_accuracy(y_true, scores, k: int = 5) -> float:
    """Top-k accuracy in percent from a (N, C) score matrix."""
    t, s = _as_arrays(y_true, scores)
    k = min(k, s.shape[1])
    top = np.argpartition(-s, kth=k - 1, axis=1)[:, :k]
    return float(100.0 * np.mean((top == t[:, None]).any(axis=1)))


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    t, p = _as_arrays(y_true, y_pred)
    n = num_classes or int(max(t.max(), p.max())) + 1
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def mean_class_accuracy(y_true, y_pred, num_classes: int | None = None) -> float:
    """Mean over the classes present in y_true of per-class recall, in percent."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    support = cm.sum(axis=1)
    present = support > 0
    return float(100.0 * np.mean(np.diag(cm)[present] / support[present]))
