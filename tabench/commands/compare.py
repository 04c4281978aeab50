"""`tabench compare RUN_A RUN_B [--json]`: is B's HM really different from A's?"""
from __future__ import annotations

import json


def run(args) -> int:
    from tabench.seeds import compare_runs, format_compare

    res = compare_runs(args.run_a, args.run_b, samples=args.samples)
    print(json.dumps(res, indent=2) if args.json else format_compare(res))
    return 0


def register(sub) -> None:
    p = sub.add_parser("compare", help="HM difference of two runs with a paired bootstrap 95%% interval",
                       description="Per direction and for the mean: HM of RUN_B minus HM of RUN_A, with a paired "
                                   "bootstrap 95% interval over the test videos both runs were evaluated on (and over "
                                   "each run's seeds, for multi-seed runs), and whether the interval excludes 0.")
    p.add_argument("run_a", metavar="RUN_A", help="run directory (single- or multi-seed)")
    p.add_argument("run_b", metavar="RUN_B", help="run directory (single- or multi-seed)")
    p.add_argument("--samples", type=int, default=2000, help="bootstrap replicates")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=run)
