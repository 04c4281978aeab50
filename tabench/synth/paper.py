"""The paper's Syn-TA naming: video paths, intra-class numbers and split files, for `synth generate --naming paper`
and `tabench import syn-ta --paper-root DIR`.

The paper's released videos and split files (`dataset_splits/synta/...`) name a video
`<coarse_slug>/<coarse_slug><N>[_front]_id_<i>.mp4`: N is the class's intra-class number in the paper's
`labels/synta_naming_scheme.csv` (shipped as `tabench/taxonomy/data/synta_naming_scheme.csv`), `_front` marks the
front view, ids 1-30 are train and 31-50 val, and each id exists in both views. Split lines are `path label`:
the coarse id for `coarse_classes/`, the set-local fine id for `fine_classes/`. The CSV lists the classes in the
same order as the syn-ta taxonomy (checked in `scheme()`), so the paper's label ids are tabench's.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from tabench import TabenchError
from tabench.io import atomic_write_text
from tabench.taxonomy import Fine, Taxonomy

FIRST_VAL_ID = 31  # the paper's ids: 1-30 train, 31-50 val
PAPER_SPLIT_DIRS = {"coarse": "coarse_classes", "fine": "fine_classes"}
_NAME = re.compile(r"^(?P<coarse>[a-z_]+)/(?P=coarse)(?P<n>\d+)(?P<front>_front)?_id_(?P<id>\d+)\.mp4$")


@dataclass(frozen=True)
class PaperName:
    """Where one video of a class sits in the paper's naming."""

    coarse_slug: str
    number: int  # the intra-class number N

    def path(self, view: str, video_id: int) -> str:
        front = "_front" if view == "front" else ""
        return f"{self.coarse_slug}/{self.coarse_slug}{self.number}{front}_id_{video_id}.mp4"


def coarse_slug(tax: Taxonomy, fine: Fine) -> str:
    return tax.coarse[fine.coarse_id].name.replace(" ", "_")


@lru_cache(maxsize=None)
def _rows() -> tuple[dict, ...]:
    text = resources.files("tabench.taxonomy").joinpath("data", "synta_naming_scheme.csv").read_text(encoding="utf-8")
    return tuple(csv.DictReader(io.StringIO(text)))


def scheme(tax: Taxonomy) -> dict[tuple[int, int], PaperName]:
    """(set, fine id) -> the class's paper name. Raises if the CSV and the taxonomy disagree on the classes."""
    out = {}
    for s in (1, 2):
        rows = [r for r in _rows() if int(r["Set"]) == s]
        fines = tax.fine_of_set(s)
        if len(rows) != len(fines):
            raise TabenchError(f"the paper's naming scheme lists {len(rows)} Set {s} classes, the taxonomy {len(fines)}")
        for fine, row in zip(fines, rows):
            if int(row["Coarse class id"]) != fine.coarse_id:
                raise TabenchError(f"naming scheme row {row} does not match class {fine.slug}")
            out[s, fine.id] = PaperName(coarse_slug(tax, fine), int(row["Intra class no."]))
    return out


def video_id(split: str, index: int) -> int:
    """The paper's id of the index-th video of a split: views alternate by index, so ids pair them."""
    return index // 2 + (1 if split == "train" else FIRST_VAL_ID)


def parse_path(rel: str) -> tuple[str, int, str, int] | None:
    """'falling/falling3_front_id_7.mp4' -> ('falling', 3, 'front', 7); None for another name."""
    m = _NAME.match(rel)
    if not m:
        return None
    return m["coarse"], int(m["n"]), "front" if m["front"] else "elevated", int(m["id"])


def by_name(tax: Taxonomy) -> dict[tuple[str, int], Fine]:
    """(coarse slug, N) -> fine class."""
    names = scheme(tax)
    return {(n.coarse_slug, n.number): tax.fine_class(s, fid) for (s, fid), n in names.items()}


def split_of(video: int) -> str:
    return "train" if video < FIRST_VAL_ID else "val"


def _order(entry) -> tuple:
    """The paper's split-file order: class (set-local), id, elevated before front."""
    coarse, n, view, vid = parse_path(entry.path)
    return entry.fine_id, vid, view == "front"


def write_paper_splits(root: str | Path, entries) -> list[str]:
    """`splits/coarse_classes/` and `splits/fine_classes/` as the paper's `{train,val}_set{1,2}_{coarse,fine}.txt`
    (`path label`, paper order) from dataset entries named the paper's way. Returns the files written."""
    root = Path(root)
    written = []
    for level, folder in PAPER_SPLIT_DIRS.items():
        for s in (1, 2):
            for split in ("train", "val"):
                rows = sorted((e for e in entries if e.set == s and e.split == split), key=_order)
                rel = f"splits/{folder}/{split}_set{s}_{level}.txt"
                atomic_write_text(root / rel, "".join(
                    f"{e.path} {e.coarse_id if level == 'coarse' else e.fine_id}\n" for e in rows))
                written.append(rel)
    return written


def import_paper_root(paper_root: str | Path, out: str | Path, link: str = "symlink", probe: bool = True,
                      workers: int | None = None, log=print) -> dict:
    """`tabench import syn-ta --paper-root DIR`: the paper's released Syn-TA videos (its naming, found anywhere
    under DIR as `<coarse_slug>/<coarse_slug><N>[_front]_id_<i>.mp4`) as a tabench dataset at `out`: videos
    linked under the same relative names, manifest (view, paper_id), taxonomy, tabench's and the paper's split
    files, and `import_report.json` listing what was not taken (other names, unknown classes, duplicates,
    unreadable files). Why not the K400/SSv2 builder: Syn-TA has no annotation file, the name is the label."""
    import os

    from tabench.data._build_common import LINK_MODES, check_out_dir, link_video, probe_all
    from tabench.data.format import VideoEntry, write_dataset
    from tabench.io import atomic_write_json
    from tabench.outputs import claim
    from tabench.taxonomy import load

    src, out = Path(paper_root), Path(out)
    if not src.is_dir():
        raise TabenchError(f"--paper-root {src}: no such folder")
    if link not in LINK_MODES:
        raise TabenchError(f"--link must be one of {', '.join(LINK_MODES)}, got {link!r}")
    if out.resolve() == src.resolve() or src.resolve() in out.resolve().parents:
        raise TabenchError(f"--out {out} must lie outside --paper-root {src}")
    check_out_dir(out)
    tax = load("syn-ta")
    classes = by_name(tax)
    found: dict[str, Path] = {}
    other, unknown, duplicates = [], [], []
    for dirpath, dirnames, filenames in os.walk(src, followlinks=True):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(".mp4"):
                continue
            path = Path(dirpath) / name
            rel = f"{path.parent.name}/{name}"
            parsed = parse_path(rel)
            if parsed is None:
                other.append(str(path.relative_to(src)))
            elif (parsed[0], parsed[1]) not in classes:
                unknown.append(str(path.relative_to(src)))
            elif rel in found:
                duplicates.append({"video": rel, "first": str(found[rel]), "again": str(path)})
            else:
                found[rel] = path
    unreadable = []
    if probe and found:
        log(f"probing {len(found)} videos with PyAV ...")
        verdict = probe_all(list(found.values()), workers)
        for rel in [r for r, p in found.items() if verdict[p] is not None]:
            unreadable.append({"video": rel, "reason": verdict[found.pop(rel)]})
    claim(out, "dataset", tax.name)
    entries = []
    for rel, path in sorted(found.items()):
        coarse, n, view, vid = parse_path(rel)
        fine = classes[coarse, n]
        entries.append(VideoEntry(rel, fine.set, split_of(vid), fine.coarse_id, fine.id,
                                  {"view": view, "paper_id": vid, "source_path": str(path)}))
        link_video(path.resolve() if link == "symlink" else path, out / rel, link)
    if not entries:
        raise TabenchError(f"--paper-root {src}: no video named <coarse>/<coarse><N>[_front]_id_<i>.mp4 found")
    write_dataset(out, tax, entries, meta_columns=["view", "paper_id", "source_path"])
    write_paper_splits(out, entries)
    per_class = {}
    for e in entries:
        c = per_class.setdefault(tax.fine_class(e.set, e.fine_id).slug, {"train": 0, "val": 0})
        c[e.split] += 1
    report = {"paper_root": str(src), "out": str(out), "link": link, "probed": probe, "videos": len(entries),
              "classes_without_videos": sorted(f.slug for f in tax.fine if f.slug not in per_class),
              "per_class": per_class, "other_names": other, "unknown_classes": unknown,
              "duplicates": duplicates, "unreadable": unreadable}
    atomic_write_json(out / "import_report.json", report)
    log(f"{out}: {len(entries)} videos of {len(per_class)} classes imported ({link}); "
        f"left out: {len(other)} other names, {len(unknown)} unknown classes, {len(duplicates)} duplicates, "
        f"{len(unreadable)} unreadable; {len(report['classes_without_videos'])} classes without videos "
        f"(see {out / 'import_report.json'})")
    return report
