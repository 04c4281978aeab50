"""`tabench taxonomy show NAME [--format table|json|csv]`, `tabench taxonomy import-text NAME CSV --field F --out OUT`.

The JSON form carries each class's text (name, motion, motion_masked, definition, descriptions; see
`tabench.taxonomy.text`) under `text`, and how the text was written plus its object-noun list under `class_text`.
"""
from __future__ import annotations

import csv
import io
import json
import os

from tabench import TabenchError, taxonomy
from tabench.io import atomic_write_json
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


def import_text(args) -> int:
    base = class_text.load_class_text(args.dataset, path=args.base)
    texts = class_text.read_descriptions_csv(args.file, args.csv_format)
    matched = class_text.match_classes(texts, args.dataset, level=args.level)
    merged = class_text.with_imported(base, matched, args.field, source=os.path.basename(args.file))
    if os.path.exists(args.out) and not args.force:
        raise TabenchError(f"{args.out} exists; pass --force to replace it")
    atomic_write_json(args.out, merged.to_dict())
    total = (len(base.coarse), len(base.fine))
    print(f"{args.out}: '{args.field}' imported for {len(matched.coarse)}/{total[0]} coarse and "
          f"{len(matched.fine)}/{total[1]} fine classes of {args.dataset}; the others keep the shipped text")
    if matched.unmatched:
        shown = ", ".join(repr(k) for k in matched.unmatched[:5])
        more = f" and {len(matched.unmatched) - 5} more" if len(matched.unmatched) > 5 else ""
        print(f"{len(matched.unmatched)} rows name no {args.dataset} class and were skipped: {shown}{more}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("taxonomy", help="show the coarse/fine class hierarchies (Syn-TA, K400-TA, SSv2-TA)",
                       description="Inspect the built-in taxonomies transcribed from appendix D of the paper.")
    tsub = p.add_subparsers(dest="taxonomy_command", metavar="ACTION", required=True)
    s = tsub.add_parser("show", help="print one taxonomy", description="Print one taxonomy.")
    s.add_argument("name", metavar="NAME", help=f"one of: {', '.join(taxonomy.NAMES)}")
    s.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format (default: table)")
    s.set_defaults(func=show)
    i = tsub.add_parser(
        "import-text", help="make a class text file with one field imported from a CSV",
        description="Write a class text file (the format of tabench/taxonomy/data/<name>.text.json) in which one field "
                    "comes from your CSV: the class,\"description\" files of the motion-descriptions release, or the "
                    "SNo,Class Name,GPT3 discription files of the benchmark's EZ-CLIP configs. Classes the CSV does not "
                    "name keep the shipped text. Load the result with load_class_text(NAME, path=OUT).")
    i.add_argument("dataset", metavar="NAME", help=f"one of: {', '.join(taxonomy.NAMES)}")
    i.add_argument("file", metavar="CSV", help="the CSV to import")
    i.add_argument("--field", required=True, choices=class_text.IMPORTABLE_FIELDS, help="which text field the CSV holds")
    i.add_argument("--level", choices=("coarse", "fine"), default=None,
                   help="match the CSV's classes at one level only (needed where a name is both, e.g. K400-TA 'drinking')")
    i.add_argument("--csv-format", choices=("motion-descriptions", "gpt3"), default=None,
                   help="the CSV layout (default: gpt3 if the file has its header, else motion-descriptions)")
    i.add_argument("--base", default=None, help="start from this class text file instead of the shipped one")
    i.add_argument("--out", required=True, help="the class text JSON to write")
    i.add_argument("--force", action="store_true", help="replace --out if it exists")
    i.set_defaults(func=import_text)
    l = tsub.add_parser("list", help="list the taxonomy names", description="List the built-in taxonomies.")
    l.set_defaults(func=lambda args: print("\n".join(taxonomy.NAMES)) or 0)
