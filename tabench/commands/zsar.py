"""`tabench zsar`: seed 004's zero-shot protocol over random seen / unseen splits of the fine classes."""
from __future__ import annotations

import argparse

from tabench.commands import HelpFormatter


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "zsar", help="zero-shot action recognition over random seen/unseen class splits (seed 004)",
        description="Pool the fine classes of both sets, split them at random into seen and unseen classes "
                    "(--splits times; --seed seeds the splits and training), train a video-text model on the seen classes and classify the "
                    "unseen classes' val videos among the unseen classes from their class texts. Writes "
                    "DIR/split{i}/ and DIR/results.json (top1 and top5 as mean, std and per_split). Resumable.",
        formatter_class=HelpFormatter)
    p.add_argument("--data", required=True, help="dataset directory")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--splits", type=int, default=10, help="number of random class splits")
    p.add_argument("--seen-fraction", type=float, default=0.5, help="fraction of the fine classes that are seen")
    p.add_argument("--class-text", help="label space texts: templates, name, motion, motion_masked, definition, "
                                        "enriched, or a .json/.csv file (default: the model's)")
    p.add_argument("--transductive", action="store_true", default=None,
                   help="give CoCo's cross-action invariance mining the unseen classes' texts during training")
    from tabench.config import add_config_arguments

    add_config_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from tabench import config, zsar

    cfg = config.from_args(args)  # --seed (a config flag) seeds the class splits as well as training
    for key, value in (("class_text", args.class_text), ("transductive", args.transductive)):
        if value is not None:
            cfg = config.merge(cfg, {key: value}, source="command line")
    zsar.run_zsar(cfg, args.data, args.out, n_splits=args.splits, seen_fraction=args.seen_fraction, seed=int(cfg["seed"]))
    return 0
