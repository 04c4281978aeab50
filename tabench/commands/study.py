"""`tabench study background|size`: the paper's background (Tab. 4) and model-size (Fig. 6) studies."""
from __future__ import annotations

import argparse

from tabench.commands import HelpFormatter


def _common(p) -> None:
    from tabench.config import add_config_arguments

    p.add_argument("--out", required=True, help="study folder (runs, report.md, report/index.html)")
    p.add_argument("--level", default="coarse", choices=("coarse", "fine"))
    p.add_argument("--seeds", metavar="S,S,...", help="run each protocol once per seed (mean, std, ci95)")
    add_config_arguments(p)


def register(sub) -> None:
    p = sub.add_parser("study", help="the paper's studies: background (Tab. 4), size (Fig. 6)",
                       description="Each study writes its runs (resumable: re-running continues) and a report.")
    s = p.add_subparsers(dest="study", required=True, metavar="STUDY")
    b = s.add_parser("background", formatter_class=HelpFormatter,
                     help="realistic vs plain Syn-TA with the same seed and counts, same model (Tab. 4)",
                     description="Generate the realistic and the plain Syn-TA (`synth generate`, same seed and "
                                 "counts) into OUT/data-<background>, run the protocol with the same model and "
                                 "config on both into OUT/runs/<model>-<background>, write OUT/report.md and "
                                 "OUT/report/index.html.")
    _common(b)
    b.add_argument("--train-per-class", type=int, default=30)
    b.add_argument("--val-per-class", type=int, default=4)
    b.add_argument("--synth-size", type=int, default=64, help="rendered short side (synth generate --size)")
    b.add_argument("--synth-frames", default="16", help="frames per video (synth generate --frames)")
    b.add_argument("--classes", help="coarse or fine classes to generate (synth generate --classes; default all)")
    b.add_argument("--data-seed", type=int, default=0, help="Syn-TA generation seed (the same for both)")
    b.add_argument("--synth-workers", type=int, default=1, help="processes for generation")
    b.add_argument("--backgrounds", metavar="DIR", help="your own photos for the realistic Syn-TA (synth generate "
                                                        "--backgrounds; default: the Debian wallpaper photos)")
    b.set_defaults(func=run)
    z = s.add_parser("size", formatter_class=HelpFormatter,
                     help="several sizes of one family on one dataset (Fig. 6)",
                     description="Run the protocol for each of --models on --data into OUT/runs/<model> and "
                                 "write OUT/report.md and OUT/report/index.html (size_vs_hm.png: parameters vs HM).")
    _common(z)
    z.add_argument("--data", required=True, help="dataset directory")
    z.add_argument("--models", required=True, metavar="A,B,...", help="registered models, e.g. sizes of a family")
    z.set_defaults(func=run)


def run(args) -> int:
    from tabench import TabenchError, config, study
    from tabench.seeds import parse_seeds

    cfg = config.from_args(args)
    seeds = parse_seeds(args.seeds) if args.seeds else None
    if seeds and args.seed is not None:
        raise TabenchError("give either --seed or --seeds, not both")
    if args.study == "background":
        synth = {"train_per_class": args.train_per_class, "val_per_class": args.val_per_class,
                 "size": args.synth_size, "frames": args.synth_frames, "classes": args.classes,
                 "backgrounds": args.backgrounds}
        study.background_study(cfg, args.out, synth, level=args.level, seeds=seeds, workers=args.synth_workers,
                               data_seed=args.data_seed)
    else:
        models = [m.strip() for m in args.models.split(",") if m.strip()]
        study.size_study(cfg, args.data, models, args.out, level=args.level, seeds=seeds)
    return 0
