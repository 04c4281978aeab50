"""`tabench train`: train one model on one set (train split), validating on the same set's val split."""
from __future__ import annotations

import argparse

from tabench.commands import HelpFormatter


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train a model on one set of a dataset",
        description="Train on Set k's train split and validate on Set k's val split. Writes last.pt (every "
                    "epoch), best.pt, config.yaml, summary.json and TensorBoard logs (tb/) under --out. "
                    "Run under `torchrun --nproc_per_node N -m tabench train ...` for DDP.",
        formatter_class=HelpFormatter)
    p.add_argument("--data", required=True, help="dataset directory (taxonomy.json, manifest.csv, splits/)")
    p.add_argument("--level", default="coarse", choices=("coarse", "fine"), help="label level")
    p.add_argument("--train-set", type=int, default=1, choices=(1, 2), help="which set to train on")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    from tabench.config import add_config_arguments

    add_config_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from tabench import config, train

    cfg = config.from_args(args)
    summary = train.train(cfg, args.data, args.train_set, args.out, level=args.level, resume=args.resume)
    if train.is_main():
        last = summary["history"][-1] if summary["history"] else {}
        print(f"done: {summary['epochs']} epochs, {summary['steps']} steps; final val acc "
              f"{last.get('val_acc', float('nan')):.2f}%, best {summary['best_acc']:.2f}% "
              f"(epoch {summary['best_epoch']}); checkpoints in {args.out}")
    return 0
