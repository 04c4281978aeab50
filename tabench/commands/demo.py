"""`tabench demo`: generate a small Syn-TA, run the coarse protocol with the default CPU model, print and
write the report. The main job of `make demo`."""
from __future__ import annotations

import argparse

from tabench.commands import HelpFormatter


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo", help="end-to-end demo: small Syn-TA -> protocol -> results table (~10 min on 2 CPU cores)",
        description="Generate a small Syn-TA into OUT/data, run the known/unknown-context protocol with the "
                    "default CPU model into OUT/run, print Known / Unknown / Dabs / Drel / HM and write "
                    "OUT/report.md. Re-running reuses the data and finished directions.",
        formatter_class=HelpFormatter)
    p.add_argument("--out", default="demo", help="output folder")
    p.add_argument("--quick", action="store_true", help="a much smaller, faster variant (for tests)")
    p.add_argument("--level", default="coarse", choices=("coarse", "fine"),
                   help="fine uses the default video-text model (unknown context is zero-shot)")
    p.add_argument("--workers", type=int, default=2, help="processes for Syn-TA generation")
    p.add_argument("--background", choices=("realistic", "plain"),
                   help="Syn-TA backgrounds (default: realistic if they can be fetched, else plain)")
    p.set_defaults(func=run)


def run(args) -> int:
    from tabench.demo import run_demo

    run_demo(args.out, quick=args.quick, level=args.level, workers=args.workers, background=args.background)
    return 0
