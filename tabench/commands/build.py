"""`tabench build k400-ta|ssv2-ta`: K400-TA and SSv2-TA from your own Kinetics-400 / Something-Something-v2 copy.

Exit status: 0 when every class has videos in both splits; 1 when the dataset was written but some class
(in some split) has no video; 2 on errors (malformed annotations, or any problem under --strict).
"""
from __future__ import annotations

from tabench.data._build_common import LINK_MODES


def _common(p) -> None:
    p.add_argument("--out", required=True, metavar="DATA", help="dataset folder to write (new, empty, or an earlier build)")
    p.add_argument("--link", choices=LINK_MODES, default="symlink",
                   help="how videos enter DATA/videos/<class>/: symlink (default), hardlink or copy; sources are never modified")
    p.add_argument("--strict", action="store_true",
                   help="fail (exit 2, nothing written but build_report.json) on any missing, unreadable or duplicate "
                        "video, unknown label or class without video")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes probing videos with PyAV (default: all CPU cores)")
    p.add_argument("--paper-splits", default=None, metavar="DIR",
                   help="the paper's dataset_splits/ folder: take exactly the videos of its split files (in their "
                        "split) and report which of them your copy lacks (build_report.json, paper_splits)")
    p.add_argument("--no-probe", action="store_true",
                   help="skip probing every video (first frame decoded, frames counted against the header); faster; "
                        "bad files are then found by the check benchmark/train run before training")


def register(subparsers) -> None:
    p = subparsers.add_parser("build", help="build K400-TA or SSv2-TA from your own Kinetics-400 / SSv2 copy",
                              description="Build K400-TA or SSv2-TA (paper's class sets) in the tabench dataset "
                                          "format from official annotation files and videos. See docs/builders.md.")
    sub = p.add_subparsers(dest="dataset", metavar="DATASET", required=True)
    k = sub.add_parser("k400-ta", help="K400-TA (205 fine / 41 coarse classes) from Kinetics-400",
                       description="Reads train.csv and validate.csv (or val.csv); finds {youtube_id}_{start:06d}_{end:06d}.mp4 "
                                   "files anywhere under the root (flat CVDF folders or per-class folders).")
    k.add_argument("--kinetics-root", required=True, metavar="DIR", help="Kinetics-400 folder (annotations and videos)")
    _common(k)
    k.set_defaults(func=_run_k400)
    s = sub.add_parser("ssv2-ta", help="SSv2-TA (149 fine / 26 coarse classes) from Something-Something-v2",
                       description="Reads something-something-v2-{labels,train,validation}.json (or labels.json, train.json, "
                                   "validation.json) and <id>.webm videos found under the root.")
    s.add_argument("--ssv2-root", required=True, metavar="DIR", help="Something-Something-v2 folder (annotations and videos)")
    _common(s)
    s.set_defaults(func=_run_ssv2)


def _exit_code(report: dict) -> int:
    return 1 if report["empty_classes"] else 0


def _run_k400(args) -> int:
    from tabench.data.build_k400 import build_k400_ta

    return _exit_code(build_k400_ta(args.kinetics_root, args.out, link=args.link, strict=args.strict,
                                    workers=args.workers, probe=not args.no_probe,
                                    paper_splits=args.paper_splits))


def _run_ssv2(args) -> int:
    from tabench.data.build_ssv2 import build_ssv2_ta

    return _exit_code(build_ssv2_ta(args.ssv2_root, args.out, link=args.link, strict=args.strict,
                                    workers=args.workers, probe=not args.no_probe,
                                    paper_splits=args.paper_splits))
