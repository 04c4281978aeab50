"""K400-TA from a local Kinetics-400 copy: the 205 classes of the paper's K400-TA taxonomy, K400 train as our
train split and K400 validation as our val split (the paper tests on K400 val).

Annotations: the official CSVs `train.csv` and `validate.csv` (or `val.csv`), header
`label,youtube_id,time_start,time_end,split[,is_cc]`, in the root, `annotations/`, `kinetics400/` or
`kinetics400/annotations/`. Videos: any file `{youtube_id}_{time_start:06d}_{time_end:06d}.<mp4|mkv|webm|...>`
(or `{youtube_id}.<ext>`) anywhere under the root, which covers the flat CVDF release (`train/`, `val/`) and
per-class folders (`train/<label>/`, with spaces or underscores). See docs/builders.md.
"""
from __future__ import annotations

import csv
from pathlib import Path

from tabench import TabenchError
from tabench.data._build_common import (Annotation, VideoIndex, build, check_out_dir, find_file,
                                        read_paper_splits)
from tabench.taxonomy import load

REQUIRED_COLUMNS = ("label", "youtube_id", "time_start", "time_end")
ANNOTATION_DIRS = ("", "annotations", "kinetics400", "kinetics400/annotations", "kinetics-400",
                   "kinetics-400/annotations")
SPLIT_FILES = {"train": ("train.csv",), "val": ("validate.csv", "val.csv", "validation.csv")}
SPLIT_FOLDERS = {"train": ("train", "training"), "val": ("val", "validate", "validation", "valid")}


def read_annotations(path: Path, split: str) -> list[Annotation]:
    """Rows of one official Kinetics CSV; a wrong header or a malformed row is a one-line TabenchError."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except UnicodeDecodeError:
        raise TabenchError(f"{path}: not a text CSV file") from None
    if not rows:
        raise TabenchError(f"{path}: empty file; expected the header {','.join(REQUIRED_COLUMNS)},split")
    header = [h.strip().lower() for h in rows[0]]
    if any(c not in header for c in REQUIRED_COLUMNS):
        raise TabenchError(f"{path}: not a Kinetics annotation CSV: header must have columns "
                           f"{','.join(REQUIRED_COLUMNS)} (found {','.join(rows[0])[:120]})")
    col = {c: header.index(c) for c in header}
    out = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or not any(x.strip() for x in row):
            continue
        if len(row) < len(header):
            raise TabenchError(f"{path}:{lineno}: expected {len(header)} columns, found {len(row)}")
        yid = row[col["youtube_id"]].strip()
        try:
            t0, t1 = int(float(row[col["time_start"]])), int(float(row[col["time_end"]]))
        except ValueError:
            raise TabenchError(f"{path}:{lineno}: time_start and time_end must be numbers, found "
                               f"{row[col['time_start']]!r}, {row[col['time_end']]!r}") from None
        if not yid:
            raise TabenchError(f"{path}:{lineno}: empty youtube_id")
        meta = {"youtube_id": yid, "time_start": t0, "time_end": t1}
        out.append(Annotation(split, row[col["label"]].strip(), (f"{yid}_{t0:06d}_{t1:06d}", yid),
                              f"{path.name}:{lineno}", meta))
    return out


def find_annotation_files(root: Path) -> dict[str, Path]:
    files = {}
    for split, names in SPLIT_FILES.items():
        p = find_file(root, names, ANNOTATION_DIRS)
        if p is None:
            raise TabenchError(f"{root}: no Kinetics-400 {' or '.join(names)} (looked in the root, "
                               f"{', '.join(d + '/' for d in ANNOTATION_DIRS if d)})")
        files[split] = p
    return files


def build_k400_ta(kinetics_root, out, link: str = "symlink", strict: bool = False, workers: int | None = None,
                  probe: bool = True, log=print, paper_splits=None) -> dict:
    """Build K400-TA into `out`; returns the build report (see tabench.data._build_common.build)."""
    root, out = Path(kinetics_root), Path(out)
    if not root.is_dir():
        raise TabenchError(f"--kinetics-root {root}: no such folder")
    check_out_dir(out)
    files = find_annotation_files(root)
    annotations = [a for split, p in files.items() for a in read_annotations(p, split)]
    log(f"read {len(annotations)} annotations from {', '.join(str(p) for p in files.values())}")
    index = VideoIndex(root, exclude=out)
    log(f"found {len(index)} video files under {root}")

    def hints(a: Annotation):  # prefer a copy in the annotation's split and class folder
        return (*SPLIT_FOLDERS[a.split], a.label)

    selected = read_paper_splits(paper_splits, "k400_ta") if paper_splits else None
    if selected is not None:
        log(f"paper splits: {len(selected.videos)} videos listed in {selected.folder}")
    return build(load("k400-ta"), annotations, index, out, link=link, strict=strict, workers=workers, probe=probe,
                 meta_columns=("youtube_id", "time_start", "time_end"), file_hints=hints,
                 source={"root": str(root.resolve()), "annotations": {k: str(v) for k, v in files.items()}}, log=log,
                 paper_splits=selected)
