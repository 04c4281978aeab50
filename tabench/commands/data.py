"""`tabench data check DATA` and `tabench data stats DATA`."""
from __future__ import annotations

import json
import sys
from collections import Counter

from tabench.data.format import check_dataset, open_dataset


def check(args) -> int:
    """Structure (manifest, splits, taxonomy) and every video, decoded to its last frame (header only with --fast)."""
    from tabench import TabenchError
    from tabench.data.format import read_manifest, unsafe_path_reason
    from tabench.data.integrity import check_videos, dataset_frame_size

    rep = check_dataset(args.data, check_files=False)
    problems = []
    try:
        frame_size = dataset_frame_size(args.data)
    except TabenchError as e:  # a Syn-TA whose synth.json is bad: named, not a size check skipped
        frame_size = None
        problems.append({"path": "synth.json", "kind": "manifest",
                         "detail": f"{e}; the videos' frame size cannot be checked against it"})
    if not args.no_files:
        try:
            entries = [e for e in read_manifest(args.data) if unsafe_path_reason(e.path) is None]
        except Exception:  # noqa: BLE001 - the manifest error is already in rep.errors
            entries = []
        found, _ = check_videos(args.data, entries, fast=args.fast, workers=args.workers,
                                progress=not args.json and not args.no_progress, frame_size=frame_size)
        problems += [p.to_dict() for p in found]
    problems = [{"path": _where(e), "kind": "manifest", "detail": e} for e in rep.errors] + problems
    if args.json:
        json.dump({"data": str(args.data), "ok": not problems, "decoded": not args.fast and not args.no_files,
                   "problems": problems, "warnings": rep.warnings, "counts": rep.counts}, sys.stdout, indent=1)
        print()
        return 0 if not problems else 1
    for w in _grouped_warnings(rep.warnings):
        print(f"warning: {w}")
    for p in problems[: args.max_errors]:
        if p["kind"] == "manifest":
            print(f"error: {p['detail']}", file=sys.stderr)
        else:
            print(f"error: {p['path']}: {p['kind']} ({p['detail']})", file=sys.stderr)
    if len(problems) > args.max_errors:
        print(f"error: ... and {len(problems) - args.max_errors} more problems", file=sys.stderr)
    counts = ", ".join(f"{k}: {v}" for k, v in rep.counts.items())
    kinds = Counter(p["kind"] for p in problems)
    status = "OK" if not problems else f"{len(problems)} problems (" + ", ".join(
        f"{n} {k}" for k, n in sorted(kinds.items())) + ")"
    how = "headers only" if args.fast else "fully decoded"
    print(f"{args.data}: {status}; {len(rep.warnings)} warnings; videos {counts}"
          + ("" if args.no_files else f" ({how})"))
    return 0 if not problems else 1


def _grouped_warnings(warnings: list[str], show: int = 3) -> list[str]:
    """One line per (set, split) for the classes without a video, so that a subset (a few Syn-TA classes, part
    of Kinetics) does not print hundreds of lines above the errors; `--json` keeps every warning."""
    out, empty = [], {}
    for w in warnings:
        where, sep, rest = w.partition(": no video of fine class ")
        if sep:
            empty.setdefault(where, []).append(rest)
            if len(empty[where]) == 1:
                out.append(where)  # a placeholder, in order
        else:
            out.append(w)
    for where, classes in empty.items():
        more = f" and {len(classes) - show} more" if len(classes) > show else ""
        line = (f"{where}: no video of fine class {classes[0]}" if len(classes) == 1 else
                f"{where}: no video of {len(classes)} fine classes: {', '.join(classes[:show])}{more}")
        out[out.index(where)] = line
    return out


def _where(error: str) -> str:
    """The file a structural error is about (a split file, or manifest.csv)."""
    head = error.split(": ", 1)[0]
    return head if head.startswith("splits/") else "manifest.csv"


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
    c = dsub.add_parser("check", help="validate a dataset directory and decode every video; exits 1 on any problem",
                        description="Decode every video to its last frame (in parallel) and report each missing, "
                                    "unreadable, truncated (fewer frames than its container or the manifest says) "
                                    "or mis-sized file by path; also manifest rows with unsafe paths or classes the "
                                    "taxonomy lacks, duplicate paths, and splits that disagree with the manifest. "
                                    "Exits 1 if anything is wrong.")
    c.add_argument("data", metavar="DATA", help="dataset directory")
    c.add_argument("--fast", action="store_true", help="open each video and read its header only (no decoding)")
    c.add_argument("--json", action="store_true",
                   help="print one JSON object with a list `problems` of {path, kind, detail}")
    c.add_argument("--workers", type=int, default=None, help="decoding processes (default: all CPUs)")
    c.add_argument("--no-files", action="store_true", help="check the manifest and splits only, not the videos")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.add_argument("--max-errors", type=int, default=50, help="print at most this many problems (default 50)")
    c.set_defaults(func=check)
    s = dsub.add_parser("stats", help="count videos per set and split", description="Count videos per set and split.")
    s.add_argument("data", metavar="DATA", help="dataset directory")
    s.set_defaults(func=stats)
