"""`tabench metrics --known K --unknown U [--known K2 --unknown U2 ...] [--json]`."""
from __future__ import annotations

import json

from tabench import TabenchError
from tabench.metrics import KEYS, summarize


def run(args) -> int:
    if len(args.known) != len(args.unknown):
        raise TabenchError(f"give one --unknown per --known ({len(args.known)} known, {len(args.unknown)} unknown)")
    res = summarize(list(zip(args.known, args.unknown)))
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    head = f"{'':10s}" + "".join(f"{k.capitalize() if k in ('known', 'unknown') else k.upper() if k == 'hm' else k.capitalize():>9s}" for k in KEYS)
    print(head)
    for i, d in enumerate(res["directions"], start=1):
        print(f"{'dir ' + str(i):10s}" + "".join(f"{d[k]:9.2f}" for k in KEYS))
    if len(res["directions"]) > 1:
        print(f"{'mean':10s}" + "".join(f"{res['mean'][k]:9.2f}" for k in KEYS))
    return 0


def register(sub) -> None:
    p = sub.add_parser("metrics", help="transfer metrics from known/unknown accuracies",
                       description="Known, Unknown, Dabs = K - U, Drel = 100 Dabs / K, HM = 2KU / (K + U) per "
                                   "direction, and their means over directions (as the paper's Tab. 2/3).")
    p.add_argument("--known", type=float, action="append", required=True, metavar="K",
                   help="known-context accuracy in percent (repeat once per direction)")
    p.add_argument("--unknown", type=float, action="append", required=True, metavar="U",
                   help="unknown-context accuracy in percent (repeat once per direction)")
    p.add_argument("--json", action="store_true", help='print {"directions": [...], "mean": {...}}')
    p.set_defaults(func=run)
