"""`tabench synth audit DATA`: can a class be told from one frame, or from the clip length alone?

Syn-TA is meant to be free of such cues: its static first frame is class-agnostic (no props, the same shape
pool and background pool for every class of a set) and what tells classes apart is the motion. The audit
proves it on a dataset: it trains, on Set k's train videos (coarse labels), a small CNN on the first frame,
one on a random frame of each video, and a clip-length-only classifier, and reports their known (Set k val)
and unknown (the other set's val) accuracy next to chance, in both directions. A bias-free dataset is at
chance on the unknown set for the single-frame classifiers (a frame may carry the motion's state, e.g. an
object in mid-air, which a known-set classifier can learn; the unknown set's classes are different fine
motions, so that does not carry over) and for the clip length.

Why a CNN and a histogram rule rather than a large model: the audit must run in minutes on a CPU, and a
static cue (an object only one class has, a colour, a layout) is found by a small CNN; clip length is one
number, for which the best rule is the majority class of its length bin.
"""
from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass

import numpy as np

from tabench import TabenchError
from tabench.data.format import open_dataset
from tabench.data.video import VideoReader

CLASSIFIERS = ("first_frame", "random_frame", "clip_length")
LENGTH_BINS = 16


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


class _FrameNet:
    """A small CNN: three conv-ReLU-pool blocks and a linear layer over the flattened map."""

    def __init__(self, num_classes: int, shape, seed: int):
        import torch
        from torch import nn

        torch.manual_seed(seed)
        c, h, w = shape
        self.net = nn.Sequential(
            nn.Conv2d(c, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * (h // 8) * (w // 8), num_classes))

    def fit(self, x: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> None:
        import torch

        xt, yt = torch.from_numpy(x).float().div_(255.0), torch.from_numpy(y).long()
        opt = torch.optim.Adam(self.net.parameters(), lr=2e-3, weight_decay=1e-4)
        g = torch.Generator().manual_seed(seed)
        self.net.train()
        for _ in range(epochs):
            for idx in torch.randperm(len(xt), generator=g).split(64):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(self.net(xt[idx]), yt[idx]).backward()
                opt.step()

    def predict(self, x: np.ndarray) -> np.ndarray:
        import torch

        self.net.eval()
        with torch.no_grad():
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


def audit(root, size: int = 32, epochs: int = 12, seed: int = 0, log=None) -> dict:
    """Train the three classifiers per direction and return their accuracies (see module docstring)."""
    log = log or (lambda m: print(f"tabench: {m}", file=sys.stderr))
    if size < 16:
        raise TabenchError(f"--size must be at least 16 pixels, got {size}")
    if epochs < 1:
        raise TabenchError(f"--epochs must be >= 1, got {epochs}")
    ds = open_dataset(root)
    num_classes = len(ds.taxonomy.coarse)
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
               "chance": 1.0 / len(set(train.label.tolist())),
               "majority_unknown": float(np.bincount(unknown.label).max() / len(unknown.label))}
        for name in ("first_frame", "random_frame"):
            pick = (lambda sm: sm.first) if name == "first_frame" else (lambda sm: sm.random)
            log(f"audit: training the {name.replace('_', '-')} classifier on Set {k} ({epochs} epochs)")
            net = _FrameNet(num_classes, pick(train).shape[1:], seed)
            net.fit(pick(train), train.label, epochs, seed)
            row[name] = {"known": float((net.predict(pick(known)) == known.label).mean()),
                         "unknown": float((net.predict(pick(unknown)) == unknown.label).mean())}
        rule = _LengthRule()
        rule.fit(train.length, train.label, num_classes)
        row["clip_length"] = {"known": float((rule.predict(known.length) == known.label).mean()),
                              "unknown": float((rule.predict(unknown.length) == unknown.label).mean())}
        directions.append(row)
    mean = {name: {part: float(np.mean([d[name][part] for d in directions])) for part in ("known", "unknown")}
            for name in CLASSIFIERS}
    return {"dataset": str(root), "size": size, "epochs": epochs, "seed": seed, "num_coarse": num_classes,
            "directions": directions, "mean": mean, "chance": float(np.mean([d["chance"] for d in directions]))}


def format_audit(res: dict) -> str:
    lines = [f"Syn-TA audit of {res['dataset']} (coarse level; frames at {res['size']} px, {res['epochs']} epochs)",
             f"{'classifier':<14} {'direction':<10} {'known':>7} {'unknown':>8} {'chance':>7}"]
    for d in res["directions"]:
        for name in CLASSIFIERS:
            lines.append(f"{name:<14} {d['train_set']}->{d['test_unknown']:<7} {100 * d[name]['known']:>6.1f}% "
                         f"{100 * d[name]['unknown']:>7.1f}% {100 * d['chance']:>6.1f}%")
    for name in CLASSIFIERS:
        m = res["mean"][name]
        lines.append(f"{name:<14} {'mean':<10} {100 * m['known']:>6.1f}% {100 * m['unknown']:>7.1f}% "
                     f"{100 * res['chance']:>6.1f}%")
    return "\n".join(lines)
