"""`tabench benchmark`: the transfer protocol (train on Set 1 / Set 2, test in known and unknown context)."""
from __future__ import annotations

import argparse

from tabench.commands import HelpFormatter


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "benchmark", help="run the known/unknown-context transfer protocol for one model",
        description="Train on Set 1, evaluate on Set 1 val (known context) and Set 2 val (unknown context); then "
                    "the same from Set 2. Writes RUN/train{1,2}/ (training runs), RUN/predictions/ and "
                    "RUN/results.json, and prints Known / Unknown / Dabs / Drel / HM. Re-running skips finished "
                    "directions and resumes an interrupted one. Works under torchrun for DDP.",
        formatter_class=HelpFormatter)
    p.add_argument("--data", required=True, help="dataset directory (taxonomy.json, manifest.csv, splits/)")
    p.add_argument("--level", default="coarse", choices=("coarse", "fine"),
                   help="coarse: shared coarse classes; fine: per-set fine classes, unknown is zero-shot "
                        "(needs a video-text model)")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--task", default="classification", choices=("classification", "retrieval"),
                   help="retrieval (seed 003, --level fine): also score motion-description retrieval with the "
                        "object and the masked descriptions (RUN/retrieval/<condition>/)")
    p.add_argument("--class-text", help="video-text label space: templates, name, motion, motion_masked, "
                                        "definition, enriched, or a .json/.csv file (default: the model's)")
    p.add_argument("--transductive", action="store_true", default=None,
                   help="give methods that use the unseen classes' texts in training (CoCo's CIM) those texts; "
                        "the run is marked transductive")
    from tabench.config import add_config_arguments

    add_config_arguments(p)
    p.add_argument("--eval-checkpoint", choices=("last", "best"),
                   help="evaluate the final (default) or the best-by-validation weights")
    p.add_argument("--seeds", metavar="S,S,...",
                   help="run the protocol once per seed under RUN/seed{s}/ (each resumable) and write RUN/results.json "
                        "with the mean over seeds, `std` and bootstrap `ci95` (e.g. --seeds 0,1,2)")
    p.set_defaults(func=run)


def run(args) -> int:
    from tabench import config, protocol

    cfg = config.from_args(args)
    if args.eval_checkpoint:
        cfg = config.merge(cfg, {"eval_checkpoint": args.eval_checkpoint}, source="command line")
    for key, value in (("class_text", args.class_text), ("transductive", args.transductive)):
        if value is not None:
            cfg = config.merge(cfg, {key: value}, source="command line")
    if args.seeds is not None:
        from tabench import TabenchError, seeds

        if args.seed is not None:
            raise TabenchError("give either --seed or --seeds, not both")
        seeds.run_seeds(cfg, args.data, args.out, seeds.parse_seeds(args.seeds), level=args.level, task=args.task)
        return 0
    protocol.run_benchmark(cfg, args.data, args.out, level=args.level, task=args.task)
    return 0
