"""`tabench features`: precompute a frozen backbone's clip features once per dataset (for CIR-style heads)."""
from __future__ import annotations

import argparse

from tabench.commands import HelpFormatter


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "features", help="precompute frozen-backbone clip features of a dataset (cached, resumable)",
        description="Run the frozen backbone of a head-on-features model (cir_tiny, cir_slowfast) over every "
                    "train/val video of both sets and store the clip features under --out (default "
                    "DATA/features/MODEL). An interrupted run resumes from its finished chunks; a finished one "
                    "returns at once. Then train with the same config plus `features: features/MODEL` "
                    "(e.g. --set features=features/cir_tiny): the head trains in seconds.",
        formatter_class=HelpFormatter)
    p.add_argument("--data", required=True, help="dataset directory (taxonomy.json, manifest.csv, splits/)")
    p.add_argument("--out", help="feature folder (default: DATA/features/MODEL)")
    p.add_argument("--chunk", type=int, default=256, help="videos per resumable chunk")
    from tabench.config import add_config_arguments

    add_config_arguments(p)
    p.set_defaults(func=run, model_default="cir_tiny")


def run(args) -> int:
    from tabench import config
    from tabench.data.features import extract_features

    cfg = config.from_args(args)
    if not cfg.get("model"):
        cfg["model"] = args.model_default
    out = extract_features(cfg, args.data, args.out, batch_size=int(cfg["batch_size"]), chunk=args.chunk,
                           progress=bool(cfg.get("progress", True)))
    print(f"features: {out}")
    return 0
