"""`tabench import syn-ta --paper-root DIR`: the paper's released Syn-TA videos as a tabench dataset."""
from __future__ import annotations

from tabench.data._build_common import LINK_MODES


def register(subparsers) -> None:
    p = subparsers.add_parser("import", help="turn a released dataset (the paper's Syn-TA videos) into a tabench dataset",
                              description="Import a dataset released in another layout. See docs/synth.md.")
    sub = p.add_subparsers(dest="dataset", metavar="DATASET", required=True)
    s = sub.add_parser("syn-ta", help="the paper's Syn-TA videos (<coarse>/<coarse><N>[_front]_id_<i>.mp4)",
                       description="Find the paper's Syn-TA videos anywhere under --paper-root, named "
                                   "<coarse>/<coarse><N>[_front]_id_<i>.mp4 (N: the intra-class number of the paper's "
                                   "naming scheme; ids 1-30 train, 31-50 val), and write a tabench dataset: videos "
                                   "linked under the same names, manifest, taxonomy, tabench's split files and the "
                                   "paper's (splits/coarse_classes/, splits/fine_classes/), import_report.json.")
    s.add_argument("--paper-root", required=True, metavar="DIR", help="folder holding the paper's Syn-TA videos")
    s.add_argument("--out", required=True, metavar="DATA", help="dataset folder to write (new, empty, or an earlier import)")
    s.add_argument("--link", choices=LINK_MODES, default="symlink", help="how videos enter DATA (sources are never modified)")
    s.add_argument("--no-probe", action="store_true", help="skip decoding the first frame of every video")
    s.add_argument("--workers", type=int, default=None, metavar="N", help="processes probing videos")
    s.set_defaults(func=_syn_ta)


def _syn_ta(args) -> int:
    from tabench.synth.paper import import_paper_root

    import_paper_root(args.paper_root, args.out, link=args.link, probe=not args.no_probe, workers=args.workers)
    return 0
