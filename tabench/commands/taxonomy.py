"""`tabench taxonomy show NAME [--format table|json|csv]`.

The JSON form carries each class's text (name, motion, motion_masked, definition, descriptions; see
`tabench.taxonomy.text`) under `text`, and how the text was written plus its object-noun list under `class_text`.
"""
from __future__ import annotations

import csv
import io
import json

from tabench import taxonomy
from tabench.taxonomy import text as class_text


def with_text(tax) -> dict:
    """The taxonomy as a dict, each coarse and fine class with its shipped class text under `text`."""
    d = tax.to_dict()
    if tax.name not in class_text.available():
        return d
    ct = class_text.load_class_text(tax.name)
    d["class_text"] = {"how_written": ct.how_written, "object_nouns": list(ct.object_nouns)}
    for c in d["coarse"]:
        c["text"] = ct.coarse_text(c["name"]).to_dict()
    for f in d["fine"]:
        f["text"] = ct.fine_text(f["slug"]).to_dict()
    return d


def show(args) -> int:
    tax = taxonomy.load(args.name)
    if args.format == "json":
        print(json.dumps(with_text(tax), indent=1, ensure_ascii=False))
    elif args.format == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["set", "id", "name", "slug", "coarse_id", "coarse_name", "source_label"])
        for f in tax.fine:
            w.writerow([f.set, f.id, f.name, f.slug, f.coarse_id, tax.coarse[f.coarse_id].name, f.source_label or ""])
        print(buf.getvalue(), end="")
    else:
        print(f"{tax.name}: {len(tax.coarse)} coarse classes, "
              f"{len(tax.fine_of_set(1))} fine in Set 1, {len(tax.fine_of_set(2))} fine in Set 2")
        for c in tax.coarse:
            print(f"\n[{c.id:2d}] {c.name}")
            for s in (1, 2):
                for f in tax.fine_of_set(s):
                    if f.coarse_id == c.id:
                        src = f"  <- {f.source_label}" if f.source_label and f.source_label != f.name else ""
                        print(f"     set {s} #{f.id:<3d} {f.name}{src}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("taxonomy", help="show the coarse/fine class hierarchies (Syn-TA, K400-TA, SSv2-TA)",
                       description="Inspect the built-in taxonomies transcribed from appendix D of the paper.")
    tsub = p.add_subparsers(dest="taxonomy_command", metavar="ACTION", required=True)
    s = tsub.add_parser("show", help="print one taxonomy", description="Print one taxonomy.")
    s.add_argument("name", metavar="NAME", help=f"one of: {', '.join(taxonomy.NAMES)}")
    s.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format (default: table)")
    s.set_defaults(func=show)
    l = tsub.add_parser("list", help="list the taxonomy names", description="List the built-in taxonomies.")
    l.set_defaults(func=lambda args: print("\n".join(taxonomy.NAMES)) or 0)
