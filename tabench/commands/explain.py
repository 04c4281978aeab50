"""`tabench explain RUN --videos N`: Grad-CAM saliency strips of a run's test videos (paper Fig. 8)."""
from __future__ import annotations


def run(args) -> int:
    from tabench.explain import explain_run

    out = explain_run(args.run, videos=args.videos, out=args.out)
    print(f"wrote saliency strips to {out} (explain.json lists them)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("explain", help="where a trained model looks: Grad-CAM strips of N test videos per context",
                       description="For each direction of RUN and each context (known, unknown), the first N test "
                                   "videos with the Grad-CAM saliency of the predicted class (last spatial conv "
                                   "layer) overlaid on the frames, as PNG strips in RUN/explain/ (or --out).")
    p.add_argument("run", metavar="RUN", help="a protocol run directory (from `tabench benchmark`)")
    p.add_argument("--videos", type=int, default=2, help="test videos per direction and context")
    p.add_argument("--out", default=None, help="output folder (default: RUN/explain)")
    p.set_defaults(func=run)
