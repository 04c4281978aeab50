"""`tabench report RUN... [--out DIR] [--format markdown|csv|latex|json] [--per-set] [--html OUT_DIR
[--format png|pdf|svg] [--examples N]]`."""
from __future__ import annotations

from pathlib import Path

from tabench import TabenchError
from tabench.io import atomic_write_text
from tabench.report import EXTENSIONS, FORMATS, build_tables, render

FIGURE_FORMATS = ("png", "pdf", "svg")


def run(args) -> int:
    figure_format = args.format if args.format in FIGURE_FORMATS else None
    if figure_format and not args.html:
        raise TabenchError(f"--format {args.format} is a figure format; use it with --html OUT_DIR "
                           f"(table formats: {', '.join(FORMATS)})")
    if args.examples < 0:
        raise TabenchError(f"--examples must be >= 0, got {args.examples}")
    text_format = "markdown" if figure_format else args.format
    tables = build_tables(args.runs, per_set=args.per_set, ci=args.ci)
    text = render(tables, text_format)
    print(text, end="" if text.endswith("\n") else "\n")
    if args.out:
        out = Path(args.out)
        name = "report_per_set" if args.per_set else "report"
        atomic_write_text(out / f"{name}.{EXTENSIONS[text_format]}", text)
    if args.html:
        from tabench.html_report import write_html_report

        index = write_html_report(args.runs, args.html, formats=[figure_format or "png"], examples=args.examples,
                                  ci=args.ci)
        print(f"wrote {index} (figures in {Path(args.html) / 'figures'})")
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="paper-style tables (and with --html, figures and analyses) over protocol runs",
                       description="A Tab. 2/3-style table (one row per model; Known / Unknown / Dabs / Drel / HM "
                                   "per dataset), recomputed from each run's prediction files. With --html OUT_DIR "
                                   "also a self-contained HTML report: the tables (mean ± std over seeds where "
                                   "runs have them), drop / coarse-vs-fine / size-vs-HM figures, per-class "
                                   "breakdowns and confusion matrices with the top confusions and example videos.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories written by `tabench benchmark`")
    p.add_argument("--out", metavar="DIR", help="also write report.<ext> into DIR")
    p.add_argument("--format", choices=FORMATS + FIGURE_FORMATS, default="markdown",
                   help="table format (default: markdown); with --html, png/pdf/svg writes the figures in that "
                        "format too (the page always shows PNGs)")
    p.add_argument("--per-set", action="store_true", help="one table per dataset with each direction apart (Tab. 6-11)")
    p.add_argument("--ci", action="store_true",
                   help="show bootstrap 95%% intervals [low, high] (over seeds and test videos); multi-seed runs "
                        "always show mean ± std")
    p.add_argument("--html", metavar="OUT_DIR", help="write OUT_DIR/index.html and OUT_DIR/figures/")
    p.add_argument("--examples", type=int, default=2, metavar="N",
                   help="with --html: example videos (frame strips) per top confusion; 0 for none")
    p.set_defaults(func=run)
