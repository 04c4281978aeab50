"""How learnable is a Syn-TA dataset from perfect object tracks? An upper-bound diagnostic, not a video model.

Reads each video's sidecar (tabench synth generate writes them): per frame and object, the projected 2D box,
opacity, colour and depth; keeps up to 6 objects at 16 time steps; trains a small MLP on Set k's train split and
reports coarse accuracy on Set k val (known) and the other set's val (unknown), for k = 1, 2.

    python tools/trajectory_oracle.py DATA [--steps 3000] [--batch 64]

A pixel model that falls far below these numbers is failing at perception (finding and tracking the objects),
not at the motion concepts themselves (docs/results.md, "Choosing the default CPU model").
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

SLOTS, STEPS = 6, 16


def track_features(sidecar: Path) -> np.ndarray:
    d = json.loads(sidecar.read_text(encoding="utf-8"))
    w, h, frames = d["width"], d["height"], d["frames"]
    x = np.zeros((STEPS, SLOTS, 10), np.float32)
    for t in range(STEPS):
        objects = sorted(frames[min(len(frames) - 1, t * len(frames) // STEPS)], key=lambda o: o["id"])
        for j, o in enumerate(objects[:SLOTS]):
            x0, y0, x1, y1 = o["box"]
            x[t, j] = [1, (x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h, o["opacity"],
                       *o["color"], o["depth"] / 10]
    return x.reshape(-1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args(argv)
    root = Path(args.data)
    groups: dict = {}
    with open(root / "manifest.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            feats = track_features(root / (r["path"].rsplit(".", 1)[0] + ".json"))
            groups.setdefault((int(r["set"]), r["split"]), []).append((feats, int(r["coarse_id"])))

    def xy(key):
        xs, ys = zip(*groups[key])
        return torch.tensor(np.stack(xs)), torch.tensor(ys)

    for k in (1, 2):
        xt, yt = xy((k, "train"))
        mu, sd = xt.mean(0), xt.std(0) + 1e-3
        torch.manual_seed(0)
        mlp = torch.nn.Sequential(torch.nn.Linear(xt.shape[1], 256), torch.nn.ReLU(), torch.nn.Dropout(0.3),
                                  torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, int(yt.max()) + 1))
        opt = torch.optim.AdamW(mlp.parameters(), 1e-3, weight_decay=0.05)
        for _ in range(args.steps):
            i = torch.randint(0, len(xt), (args.batch,))
            loss = F.cross_entropy(mlp((xt[i] - mu) / sd), yt[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
        mlp.eval()
        with torch.no_grad():
            acc = {name: 100 * (mlp((x - mu) / sd).argmax(1) == y).float().mean().item()
                   for name, (x, y) in (("known", xy((k, "val"))), ("unknown", xy((3 - k, "val"))))}
        print(f"train set {k}: known {acc['known']:.1f}  unknown {acc['unknown']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
