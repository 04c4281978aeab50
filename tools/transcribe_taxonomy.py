"""Transcribe appendix D of the paper (shared/seeds/000_*.txt) into tabench's taxonomy JSON files.

Run once by a maintainer: `python tools/transcribe_taxonomy.py ../shared`. The JSON files it writes are the
source of truth afterwards; this script only documents how they were made.
"""
import glob
import json
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tabench" / "taxonomy" / "data"

# K400-TA classes that the paper renamed from their Kinetics-400 label (paper name -> official label).
K400_RENAMED = {"smoking cigarette or short object": "smoking", "drinking water or soft drinks": "drinking"}


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.replace("’", "'")).encode("ascii", "ignore").decode()
    text = text.replace("'", "")
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse(lines, start):
    """Parse the coarse table and the two fine tables that follow line index `start`."""
    i = start
    coarse = []
    while not lines[i].startswith("| Coarse ID | Coarse motion |"):
        i += 1
    i += 2
    while lines[i].startswith("|") and "Fine ID" not in lines[i]:
        c = cells(lines[i])
        coarse.append({"id": int(c[0]), "name": c[1]})
        i += 1
    fine = []
    for set_id in (1, 2):
        while "Fine ID" not in lines[i]:
            i += 1
        i += 2
        current = None
        while i < len(lines) and lines[i].startswith("|") and "Fine ID" not in lines[i]:
            c = [x for x in cells(lines[i]) if x != ""]
            if len(c) == 4 and c[0].isdigit() and c[2].isdigit():
                current = int(c[0])
                fid, name = int(c[2]), c[3]
            elif len(c) == 2 and c[0].isdigit():
                fid, name = int(c[0]), c[1]
            elif len(c) == 3 and c[1].isdigit():  # coarse name wrapped onto this row
                fid, name = int(c[1]), c[2]
            else:
                i += 1
                continue
            fine.append({"set": set_id, "id": fid, "name": name, "coarse_id": current})
            i += 1
    return coarse, fine, i


def dump(tax) -> str:
    """One entry per line: diffable and readable."""
    row = lambda d: json.dumps(d, ensure_ascii=False)
    coarse = ",\n".join("  " + row(c) for c in tax["coarse"])
    fine = ",\n".join("  " + row(f) for f in tax["fine"])
    return f'{{\n "name": {json.dumps(tax["name"])},\n "coarse": [\n{coarse}\n ],\n "fine": [\n{fine}\n ]\n}}\n'


def main(shared):
    shared = Path(shared)
    text = glob.glob(str(shared / "seeds" / "000_*.txt"))[0]
    lines = Path(text).read_text(encoding="utf-8").splitlines()
    k400 = set((shared / "reference" / "kinetics400_classes.txt").read_text().splitlines())
    ssv2 = set((shared / "reference" / "ssv2_templates.txt").read_text().splitlines())
    starts = {
        "syn-ta": next(i for i, l in enumerate(lines) if l.startswith("D.1 Syn-TA")),
        "k400-ta": next(i for i, l in enumerate(lines) if l.startswith("D.2 Kinetics400")),
        "ssv2-ta": next(i for i, l in enumerate(lines) if l.startswith("D.3 Something")),
    }
    for name, start in starts.items():
        coarse, fine, _ = parse(lines, start)
        for f in fine:
            f["slug"] = slugify(f["name"])
            if name == "syn-ta":
                f["source_label"] = None
            else:
                plain = f["name"].replace("’", "'")
                label = K400_RENAMED.get(plain, plain)
                official = k400 if name == "k400-ta" else ssv2
                if label not in official:
                    raise SystemExit(f"{name}: {f['name']!r} not in the official list")
                f["source_label"] = label
        fine = [{k: f[k] for k in ("set", "id", "name", "slug", "coarse_id", "source_label")} for f in fine]
        out = {"name": name, "coarse": coarse, "fine": fine}
        (OUT / f"{name}.json").write_text(dump(out), encoding="utf-8")
        print(name, len(coarse), sum(f["set"] == 1 for f in fine), sum(f["set"] == 2 for f in fine))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared")
