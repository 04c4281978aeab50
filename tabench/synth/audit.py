"""`tabench synth audit DATA`: can a class be told from one frame, or from the clip length alone?

Syn-TA is meant to be free of such cues: no props, the same shape pool and background pool for every class of
a set, idle objects in every scene, so that what tells classes apart is the motion. The audit measures how far
a dataset is from that (the default Syn-TA's first frame is still a little above chance: docs/synth.md): it
trains, on Set k's train videos (coarse labels), a small CNN on the first frame,
one on a random frame of each video, and a clip-length-only classifier, and reports their known (Set k val)
and unknown (the other set's val) accuracy next to chance (`chance_level`: 1/C, or more where the classes are
unbalanced), in both directions. A bias-free dataset is at
chance on the unknown set for the single-frame classifiers (a frame may carry the motion's state, e.g. an
object in mid-air, which a known-set classifier can learn; the unknown set's classes are different fine
motions, so that does not carry over) and for the clip length.

Why a CNN and a histogram rule rather than a large model: the audit must run in minutes on a CPU, and a
static cue (an object only one class has, a colour, a layout) is found by a small CNN; clip length is one
number, for which the best rule is the majority class of its length bin.
"""
from __future__ import annotations

import contextlib
import hashlib
import sys
from dataclasses import dataclass

import numpy as np

from tabench import TabenchError
from tabench.data.format import open_dataset
from tabench.data.video import VideoReader

CLASSIFIERS = ("first_frame", "random_frame", "clip_length")
LENGTH_BINS = 16
BATCH = 32
MIN_STEPS = 200


@dataclass
class Samples:
    first: np.ndarray  # (N, 3, H, W) uint8
    random: np.ndarray  # (N, 3, H, W) uint8
    length: np.ndarray  # (N,) frames
    label: np.ndarray  # (N,) coarse id


def _random_index(path: str, n: int, seed: int) -> int:
    h = hashlib.sha256(f"tabench-audit/{seed}/{path}".encode()).digest()
    return int.from_bytes(h[:8], "little") % max(n, 1)


def load_samples(ds, entries, size: int, seed: int) -> Samples:
    firsts, randoms, lengths, labels = [], [], [], []
    for e in entries:
        with VideoReader(ds.abspath(e), threads=None) as r:
            n = int(e.meta.get("num_frames") or r.info.num_frames)
            frames = r.read([0, _random_index(e.path, n, seed)], short_side=size)
        firsts.append(frames[0].transpose(2, 0, 1))
        randoms.append(frames[-1].transpose(2, 0, 1))
        lengths.append(n)
        labels.append(e.coarse_id)
    return Samples(np.stack(firsts), np.stack(randoms), np.array(lengths), np.array(labels))


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of an accuracy of `correct` out of `n` (sound for small n and near 0 or 1)."""
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def _score(pred: np.ndarray, label: np.ndarray, chance: float) -> dict:
    """Accuracy, its 95 % interval, and whether chance lies below that interval (a cue the classifier used)."""
    correct, n = int((pred == label).sum()), len(label)
    lo, hi = wilson_interval(correct, n)
    return {"accuracy": correct / n if n else 0.0, "n": n, "ci95": [round(lo, 4), round(hi, 4)],
            "above_chance": bool(lo > chance)}


def per_class(pred: np.ndarray, label: np.ndarray, names: dict[int, str]) -> dict:
    """Per coarse class of the evaluated set: its videos, the share of them recognised (recall), and the share
    of all videos the classifier gave that class. A classifier without a cue recognises a class about as often
    as it answers it (recall ~ predicted share); a class whose recall is far above its predicted share is one
    whose frames (or lengths) carry the cue."""
    out = {}
    for c in np.unique(label):
        mine = label == c
        out[names[int(c)]] = {"n": int(mine.sum()), "recall": round(float((pred[mine] == c).mean()), 4),
                              "predicted_share": round(float((pred == c).mean()), 4)}
    return out


def cue_classes(classes: dict, top: int = 3) -> list[str]:
    """The classes of `per_class` with the largest recall above their predicted share, best first."""
    lift = sorted(((v["recall"] - v["predicted_share"], k) for k, v in classes.items()), reverse=True)
    return [k for gain, k in lift[:top] if gain > 0]


def chance_level(train_labels: np.ndarray, eval_labels: np.ndarray) -> float:
    """The accuracy a classifier reaches without any cue: the better of 1/C and always answering the training
    set's most frequent class. Syn-TA's coarse classes hold unequal numbers of fine classes per set, so that
    constant scores 7.5-8.5 % on the other set's val videos of the default dataset, not 5 %."""
    train_labels, eval_labels = np.asarray(train_labels), np.asarray(eval_labels)
    top = int(np.bincount(train_labels).argmax())
    return max(1.0 / len(np.unique(train_labels)), float((eval_labels == top).mean()) if len(eval_labels) else 0.0)


@contextlib.contextmanager
def _one_thread():
    """Run torch on one thread: on frames this small, intra-op threads cost more than they gain (measured
    5-10x slower per step with 2 threads on a busy 2-core machine)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _FrameNet:
    """A small CNN: three conv-BatchNorm-ReLU-pool blocks, dropout and a linear layer over the flattened map.

    Why BatchNorm: without it, training from some seeds never left chance, even on the known set, and such a
    run reports a biased dataset as unbiased. On the full default Syn-TA, 2 of 6 trainings (3 seeds x 2
    directions) ended at chance on the known set (7.5-8.7 %, against 16-21 % for the others); with
    BatchNorm all 6 reached 21-26 % on the known set and their unknown accuracies agreed within 2.3 points."""

    def __init__(self, num_classes: int, shape, seed: int):
        import torch
        from torch import nn

        torch.manual_seed(seed)
        c, h, w = shape

        def block(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]

        self.net = nn.Sequential(*block(c, 16), *block(16, 32), *block(32, 64), nn.Flatten(), nn.Dropout(0.2),
                                 nn.Linear(64 * (h // 8) * (w // 8), num_classes))

    def fit(self, x: np.ndarray, y: np.ndarray, epochs: int, seed: int, min_steps: int = 0) -> int:
        """`epochs` passes in batches of BATCH, or more passes until `min_steps` optimiser steps (so that a
        small dataset is not left under-trained, which would pass for an unbiased one). Returns the steps."""
        import torch

        xt, yt = torch.from_numpy(x).float().div_(255.0), torch.from_numpy(y).long()
        opt = torch.optim.Adam(self.net.parameters(), lr=2e-3, weight_decay=1e-4)
        g = torch.Generator().manual_seed(seed)
        self.net.train()
        steps, epoch = 0, 0
        with _one_thread():
            while epoch < epochs or steps < min_steps:
                for idx in torch.randperm(len(xt), generator=g).split(BATCH):
                    opt.zero_grad()
                    torch.nn.functional.cross_entropy(self.net(xt[idx]), yt[idx]).backward()
                    opt.step()
                    steps += 1
                epoch += 1
        return steps

    def predict(self, x: np.ndarray) -> np.ndarray:
        import torch

        self.net.eval()
        with torch.no_grad(), _one_thread():
            xt = torch.from_numpy(x).float().div_(255.0)
            return torch.cat([self.net(b).argmax(1) for b in xt.split(256)]).numpy()


class _LengthRule:
    """Majority coarse class of each clip-length bin (bins: quantiles of the train lengths)."""

    def fit(self, length: np.ndarray, y: np.ndarray, num_classes: int) -> None:
        self.edges = np.unique(np.quantile(length, np.linspace(0, 1, LENGTH_BINS + 1)[1:-1]))
        counts = np.zeros((len(self.edges) + 1, num_classes))
        np.add.at(counts, (np.searchsorted(self.edges, length, side="right"), y), 1)
        self.table = counts.argmax(1)

    def predict(self, length: np.ndarray) -> np.ndarray:
        return self.table[np.searchsorted(self.edges, length, side="right")]


def audit(root, size: int = 32, epochs: int = 12, seed: int = 0, log=None, min_steps: int = MIN_STEPS) -> dict:
    """Train the three classifiers per direction and return their accuracies (see module docstring)."""
    log = log or (lambda m: print(f"tabench: {m}", file=sys.stderr))
    if size < 16:
        raise TabenchError(f"--size must be at least 16 pixels, got {size}")
    if epochs < 1:
        raise TabenchError(f"--epochs must be >= 1, got {epochs}")
    ds = open_dataset(root)
    num_classes = len(ds.taxonomy.coarse)
    names = {c.id: c.name for c in ds.taxonomy.coarse}
    samples = {}
    for s in (1, 2):
        for split in ("train", "val"):
            entries = ds.select(s, split)
            if not entries:
                raise TabenchError(f"{root}: no Set {s} {split} videos; the audit needs train and val of both sets")
            log(f"audit: reading first and random frames of {len(entries)} Set {s} {split} videos")
            samples[s, split] = load_samples(ds, entries, size, seed)
    directions = []
    for k in (1, 2):
        other = 3 - k
        train, known, unknown = samples[k, "train"], samples[k, "val"], samples[other, "val"]
        row = {"train_set": k, "test_known": k, "test_unknown": other,
               "uniform": 1.0 / len(set(train.label.tolist())),
               "chance": chance_level(train.label, unknown.label),
               "majority_unknown": float(np.bincount(unknown.label).max() / len(unknown.label))}
        chance_known = chance_level(train.label, known.label)

        def scored(pred_known: np.ndarray, pred_unknown: np.ndarray) -> dict:
            return {"known": _score(pred_known, known.label, chance_known),
                    "unknown": {**_score(pred_unknown, unknown.label, row["chance"]),
                                "per_class": per_class(pred_unknown, unknown.label, names)}}

        for name in ("first_frame", "random_frame"):
            pick = (lambda sm: sm.first) if name == "first_frame" else (lambda sm: sm.random)
            log(f"audit: training the {name.replace('_', '-')} classifier on Set {k} ({epochs} epochs)")
            net = _FrameNet(num_classes, pick(train).shape[1:], seed)
            steps = net.fit(pick(train), train.label, epochs, seed, min_steps)
            log(f"audit: {steps} steps")
            row[name] = scored(net.predict(pick(known)), net.predict(pick(unknown)))
        rule = _LengthRule()
        rule.fit(train.length, train.label, num_classes)
        row["clip_length"] = scored(rule.predict(known.length), rule.predict(unknown.length))
        directions.append(row)
    mean = {name: {part: float(np.mean([d[name][part]["accuracy"] for d in directions]))
                   for part in ("known", "unknown")} for name in CLASSIFIERS}
    biased = [name for name in CLASSIFIERS if any(d[name]["unknown"]["above_chance"] for d in directions)]
    return {"dataset": str(root), "size": size, "epochs": epochs, "min_steps": min_steps, "seed": seed,
            "num_coarse": num_classes,
            "videos": {f"set{s}_{split}": int(len(samples[s, split].label)) for s, split in samples},
            "directions": directions, "mean": mean, "chance": float(np.mean([d["chance"] for d in directions])),
            "above_chance_unknown": biased}


def format_audit(res: dict) -> str:
    n = res["videos"]
    lines = [f"Audit of {res['dataset']} (coarse level; frames at {res['size']} px, {res['epochs']} epochs, at least "
             f"{res['min_steps']} steps; "
             f"train/val videos: Set 1 {n['set1_train']}/{n['set1_val']}, Set 2 {n['set2_train']}/{n['set2_val']})",
             f"{'classifier':<14} {'train->test':<12} {'known':>7} {'unknown':>8} {'unknown 95% CI':>16} {'chance':>7}"]
    for d in res["directions"]:
        for name in CLASSIFIERS:
            k, u = d[name]["known"], d[name]["unknown"]
            ci = f"{100 * u['ci95'][0]:.1f}-{100 * u['ci95'][1]:.1f}%"
            flag = "  above chance" if u["above_chance"] else ""
            lines.append(f"{name:<14} {d['train_set']}->{d['test_unknown']:<9} {100 * k['accuracy']:>6.1f}% "
                         f"{100 * u['accuracy']:>7.1f}% {ci:>16} {100 * d['chance']:>6.1f}%{flag}")
    for name in CLASSIFIERS:
        m = res["mean"][name]
        lines.append(f"{name:<14} {'mean':<12} {100 * m['known']:>6.1f}% {100 * m['unknown']:>7.1f}% {'':>16} "
                     f"{100 * res['chance']:>6.1f}%")
    if res["above_chance_unknown"]:
        lines.append("above chance on the unknown set (a static or length cue carries over): "
                     + ", ".join(res["above_chance_unknown"]))
        for d in res["directions"]:
            for name in res["above_chance_unknown"]:
                u = d[name]["unknown"]
                if u["above_chance"] and u.get("per_class"):
                    where = [f"{c} ({100 * u['per_class'][c]['recall']:.0f}% recognised, answered for "
                             f"{100 * u['per_class'][c]['predicted_share']:.0f}% of videos)"
                             for c in cue_classes(u["per_class"])]
                    lines.append(f"  {name} {d['train_set']}->{d['test_unknown']}, where the cue sits: "
                                 + "; ".join(where))
    else:
        lines.append("every classifier is within chance on the unknown set (chance inside or above its 95% interval)")
    return "\n".join(lines)
