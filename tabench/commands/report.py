"""`tabench report RUN... [--out DIR] [--format markdown|csv|latex|json] [--per-set]`."""
from __future__ import annotations

from pathlib import Path

from tabench.io import atomic_write_text
from tabench.report import EXTENSIONS, FORMATS, build_tables, render


def run(args) -> int:
    tables = build_tables(args.runs, per_set=args.per_set, ci=args.ci)
    text = render(tables, args.format)
    print(text, end="" if text.endswith("\n") else "\n")
    if args.out:
        out = Path(args.out)
        name = "report_per_set" if args.per_set else "report"
        atomic_write_text(out / f"{name}.{EXTENSIONS[args.format]}", text)
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="paper-style table over protocol runs",
                       description="A Tab. 2/3-style table (one row per model; Known / Unknown / Dabs / Drel / HM "
                                   "per dataset), recomputed from each run's prediction files.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories written by `tabench benchmark`")
    p.add_argument("--out", metavar="DIR", help="also write report.<ext> into DIR")
    p.add_argument("--format", choices=FORMATS, default="markdown", help="table format (default: markdown)")
    p.add_argument("--per-set", action="store_true", help="one table per dataset with each direction apart (Tab. 6-11)")
    p.add_argument("--ci", action="store_true",
                   help="show bootstrap 95%% intervals [low, high] (over seeds and test videos); multi-seed runs "
                        "always show mean ± std")
    p.set_defaults(func=run)
