"""Compare registered models quickly on one Syn-TA set: pre-decode clips once, then train from scratch on them.

The quick study behind docs/results.md ("Choosing the default CPU model"): Set 1 train clips are decoded once
(segment centres, the whole frame squashed to SIZE x SIZE, no augmentation) and kept in memory, then each model
trains for STEPS steps (batch 16, AdamW, one-cycle schedule) and is scored on Set 1 val (known) and Set 2 val
(unknown), coarse level. Minutes instead of the full protocol's pipeline; not a substitute for it.

    python tools/model_study.py DATA --model rgbdiff_tiny --kw inputs=rgb+diff --steps 600 --seed 1
    python tools/model_study.py DATA --model r3d_tiny --kw rgb_diff=true --kw pool=max --lr 3e-3
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import yaml  # noqa: E402

from tabench.data.clips import ClipDataset  # noqa: E402
from tabench.models import create_model  # noqa: E402


def preload(data: str, set_id: int, split: str, frames: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    ds = ClipDataset(data, set_id, split, "coarse", num_frames=frames, size=size, train=False, crop="full",
                     cache_dir=str(Path(data) / "cache"))
    items = [ds[i] for i in range(len(ds))]
    return torch.stack([it["video"] for it in items]).half(), torch.tensor([it["label"] for it in items])


@torch.no_grad()
def accuracy(model, x, y, batch=64) -> float:
    model.eval()
    hits = sum((model(x[i:i + batch].float()).argmax(1) == y[i:i + batch]).sum().item() for i in range(0, len(x), batch))
    model.train()
    return 100.0 * hits / len(x)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--model", default="rgbdiff_tiny")
    ap.add_argument("--kw", action="append", default=[], metavar="KEY=VALUE", help="builder argument (YAML value)")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=48)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    kw = {k: yaml.safe_load(v) for k, _, v in (item.partition("=") for item in args.kw)}
    xt, yt = preload(args.data, 1, "train", args.frames, args.size)
    xk, yk = preload(args.data, 1, "val", args.frames, args.size)
    xu, yu = preload(args.data, 2, "val", args.frames, args.size)
    torch.manual_seed(args.seed)
    model = create_model(args.model, num_classes=int(yt.max()) + 1, **kw).train()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
    t0 = time.time()
    for _ in range(args.steps):
        i = torch.randint(0, len(xt), (16,))
        loss = F.cross_entropy(model(xt[i].float()), yt[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    print(f"{args.model} {kw} seed {args.seed}, {args.steps} steps ({time.time() - t0:.0f} s): "
          f"known {accuracy(model, xk, yk):.1f}  unknown {accuracy(model, xu, yu):.1f}  (last loss {loss.item():.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
