"""`tabench data check DATA` and `tabench data stats DATA`."""
from __future__ import annotations

import sys
from collections import Counter

from tabench.data.format import check_dataset, open_dataset


def check(args) -> int:
    rep = check_dataset(args.data, check_files=not args.no_files)
    for w in rep.warnings:
        print(f"warning: {w}")
    for e in rep.errors[: args.max_errors]:
        print(f"error: {e}", file=sys.stderr)
    if len(rep.errors) > args.max_errors:
        print(f"error: ... and {len(rep.errors) - args.max_errors} more errors", file=sys.stderr)
    counts = ", ".join(f"{k}: {v}" for k, v in rep.counts.items())
    status = "OK" if rep.ok else f"{len(rep.errors)} errors"
    print(f"{args.data}: {status}; {len(rep.warnings)} warnings; videos {counts}")
    return 0 if rep.ok else 1


def stats(args) -> int:
    ds = open_dataset(args.data)
    print(f"{args.data}: taxonomy {ds.taxonomy.name}, {len(ds.entries)} videos")
    per = Counter((e.set, e.split) for e in ds.entries)
    for (s, split), n in sorted(per.items()):
        classes = len({e.fine_id for e in ds.entries if e.set == s and e.split == split})
        print(f"  set {s} {split:5s}: {n:6d} videos, {classes} fine classes")
    return 0


def register(sub) -> None:
    p = sub.add_parser("data", help="check or summarise a dataset directory",
                       description="Tools for dataset directories (taxonomy.json, manifest.csv, splits/).")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    c = dsub.add_parser("check", help="validate a dataset directory; exits non-zero on any error",
                        description="Report missing files, labels unknown to the taxonomy, rows whose set or coarse "
                                    "class disagree with it, duplicate paths, and splits that disagree with the manifest.")
    c.add_argument("data", metavar="DATA", help="dataset directory")
    c.add_argument("--no-files", action="store_true", help="do not check that video files exist")
    c.add_argument("--max-errors", type=int, default=50, help="print at most this many errors (default 50)")
    c.set_defaults(func=check)
    s = dsub.add_parser("stats", help="count videos per set and split", description="Count videos per set and split.")
    s.add_argument("data", metavar="DATA", help="dataset directory")
    s.set_defaults(func=stats)
