"""`tabench synth generate`, `preview` and `audit`: the Syn-TA generator and its bias check (see docs/synth.md)."""
from __future__ import annotations

import argparse

from tabench.commands import HelpFormatter
from tabench.synth.scene import VIEWS


def register(subparsers) -> None:
    p = subparsers.add_parser("synth", help="generate Syn-TA videos or a contact sheet of its motions",
                              description="Syn-TA: synthetic 3D-object motion videos, rendered headless on the CPU.")
    sub = p.add_subparsers(dest="synth_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])

    g = sub.add_parser("generate", help="render Syn-TA into a dataset directory",
                       description="Render Syn-TA (or a variant) into the tabench dataset format. Deterministic and "
                                   "resumable: re-running the same command skips finished videos.",
                       formatter_class=HelpFormatter)
    g.add_argument("--out", required=True, metavar="DIR", help="output dataset directory")
    g.add_argument("--prune", action="store_true",
                   help="drop manifest rows outside the current per-class counts (by default the manifest only grows)")
    g.add_argument("--train-per-class", type=int, default=60, metavar="N", help="train videos per fine class")
    g.add_argument("--val-per-class", type=int, default=40, metavar="N", help="val videos per fine class")
    g.add_argument("--views", default=",".join(VIEWS), metavar="LIST",
                   help="camera views, comma-separated (elevated, front); videos alternate between them by index")
    g.add_argument("--size", type=int, default=112, metavar="PX",
                   help="short side in pixels (16:9 frames, even sizes; 32 to 1080)")
    g.add_argument("--fps", type=int, default=24, help="frames per second")
    g.add_argument("--frames", default=None, metavar="N|MIN-MAX",
                   help="clip length: a fixed N or a uniform range MIN-MAX (default: the paper's distribution, "
                        "60-250 frames, mean ~105)")
    g.add_argument("--max-frames", type=int, default=None, metavar="N", help="cap every clip at N frames (quick runs)")
    g.add_argument("--classes", default=None, metavar="LIST",
                   help="comma-separated fine class slugs or coarse class names (default: all 100)")
    g.add_argument("--seed", type=int, default=0, help="run seed; each video's seed derives from it, its class, "
                                                       "split and index")
    g.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (each with its own GL context)")
    g.add_argument("--shard", default=None, metavar="I/N",
                   help="generate only the I-th (1-based) of N disjoint parts; afterwards run the same command "
                        "without --shard to write the full manifest")
    g.add_argument("--background", choices=("realistic", "plain"), default="realistic",
                   help="photos (from --backgrounds or Debian wallpaper packages) or solid muted colours")
    g.add_argument("--backgrounds", default=None, metavar="DIR",
                   help="your own photos: DIR/set1/*.jpg and DIR/set2/*.jpg, or a flat DIR split into two halves")
    g.add_argument("--annotations", default="", metavar="LIST",
                   help="also write per-frame instance masks and/or depth: masks,depth")
    g.add_argument("--naming", choices=("tabench", "paper"), default="tabench",
                   help="video names: tabench's (videos/<coarse>/<fine-slug>/<split>_<index>.mp4) or the paper's "
                        "(<coarse>/<coarse><N>[_front]_id_<i>.mp4, ids 1-30 train and 31-50 val, each id in both "
                        "views, plus the paper's split files under splits/coarse_classes/ and splits/fine_classes/)")
    g.add_argument("--timing", choices=("default", "paper"), default="default",
                   help="clip lengths: default, a random length per video with the motion stretched to it; paper, "
                        "each class one fixed length and speed as in the paper's Blender scripts (the length then "
                        "names the class: see docs/synth.md)")
    g.add_argument("--idle-objects", default="2-5", metavar="MIN-MAX|none",
                   help="static objects drawn alike for every class, added until the first frame shows a total of "
                        "objects drawn from MIN-MAX, so that one frame does not name the class; none: only the "
                        "class's objects, as in the paper (see docs/synth.md)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.set_defaults(func=_generate)

    v = sub.add_parser("preview", help="contact sheet of Syn-TA motions (a row per fine class)",
                       description="Render one clip per fine class and lay out frames over time, a row per class.",
                       formatter_class=HelpFormatter)
    v.add_argument("--out", required=True, metavar="PNG", help="output image (.png or .jpg)")
    v.add_argument("--classes", default=None, metavar="LIST",
                   help="comma-separated fine class slugs or coarse class names (default: every class with a "
                        "motion program)")
    v.add_argument("--frames-per-row", type=int, default=6, metavar="N", help="frames shown per class")
    v.add_argument("--size", type=int, default=112, metavar="PX", help="short side of each frame in pixels")
    v.add_argument("--seed", type=int, default=0, help="run seed (as in generate)")
    v.add_argument("--view", choices=VIEWS, default=None, help="camera view (default: alternate by row)")
    v.add_argument("--background", choices=("realistic", "plain"), default="realistic",
                   help="photos or solid colours")
    v.add_argument("--backgrounds", default=None, metavar="DIR", help="your own photos (as in generate)")
    v.add_argument("--max-frames", type=int, default=None, metavar="N", help="cap each clip at N frames")
    v.add_argument("--timing", choices=("default", "paper"), default="default", help="clip lengths (as in generate)")
    v.add_argument("--idle-objects", default="2-5", metavar="MIN-MAX|none",
                   help="static objects drawn alike for every class (as in generate)")
    v.set_defaults(func=_preview)

    a = sub.add_parser("audit", help="can a class be told from one frame or from the clip length alone?",
                       description="Train a single-frame classifier (on the first frame, and on a random frame) and "
                                   "a clip-length-only classifier on Set k's train videos (coarse labels) and report "
                                   "their known (Set k val) and unknown (other set val) accuracy next to chance, "
                                   "both directions. A dataset without static or length cues is at chance on the "
                                   "unknown set.",
                       formatter_class=HelpFormatter)
    a.add_argument("data", metavar="DATA", help="dataset directory (any tabench dataset with both sets)")
    a.add_argument("--size", type=int, default=32, metavar="PX", help="short side the frames are resized to")
    a.add_argument("--epochs", type=int, default=12, help="training epochs of the frame classifiers")
    a.add_argument("--seed", type=int, default=0, help="seed of the random frame choice and of the training")
    a.add_argument("--json", default=None, metavar="PATH", help="also write the numbers as JSON")
    a.set_defaults(func=_audit)


def _generate(args) -> int:
    from tabench.synth.generate import (ANNOTATIONS, Options, generate, parse_frames, parse_idle, parse_list,
                                        parse_shard)

    opts = Options(
        out=args.out, train_per_class=args.train_per_class, val_per_class=args.val_per_class,
        views=parse_list(args.views, VIEWS, "--views"), size=args.size, fps=args.fps,
        frames=parse_frames(args.frames), max_frames=args.max_frames,
        classes=tuple(c.strip() for c in args.classes.split(",") if c.strip()) if args.classes else None,
        seed=args.seed, workers=args.workers, shard=parse_shard(args.shard), background=args.background,
        backgrounds=args.backgrounds, annotations=parse_list(args.annotations, ANNOTATIONS, "--annotations"),
        prune=args.prune, naming=args.naming, timing=args.timing, idle_objects=parse_idle(args.idle_objects))
    s = generate(opts, progress=not args.no_progress)
    fps = s.timing.frames / s.seconds if s.seconds > 0 else 0.0
    print(f"{args.out}: {s.rendered} videos rendered, {s.skipped} already there (of {s.planned} in this run); "
          f"manifest lists {s.manifest_rows} videos; {s.seconds:.1f} s ({fps:.0f} frames/s)")
    return 0


def _preview(args) -> int:
    from tabench.synth.generate import parse_idle
    from tabench.synth.preview import contact_sheet

    classes = tuple(c.strip() for c in args.classes.split(",") if c.strip()) if args.classes else None
    n = contact_sheet(args.out, classes=classes, frames_per_row=args.frames_per_row, size=args.size,
                      seed=args.seed, view=args.view, background=args.background, backgrounds=args.backgrounds,
                      max_frames=args.max_frames, timing=args.timing, idle_objects=parse_idle(args.idle_objects))
    print(f"{args.out}: {n} classes")
    return 0


def _audit(args) -> int:
    from tabench.io import atomic_write_json
    from tabench.synth.audit import audit, format_audit

    res = audit(args.data, size=args.size, epochs=args.epochs, seed=args.seed)
    print(format_audit(res))
    if args.json:
        atomic_write_json(args.json, res)
    return 0
