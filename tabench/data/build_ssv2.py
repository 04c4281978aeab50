"""SSv2-TA from a local Something-Something-v2 copy: the 149 templates of the paper's SSv2-TA taxonomy,
SSv2 train as our train split and SSv2 validation as our val split.

Annotations: the official JSON files anywhere under the root (long names `something-something-v2-labels.json`,
`-train.json`, `-validation.json` preferred, else `labels.json`, `train.json`, `validation.json`); entries
`{"id", "label", "template", "placeholders"}`, where the template, brackets removed, is the class
("Holding [something] next to [something]" -> "Holding something next to something"). Videos: `<id>.webm`
(or another video extension) anywhere under the root, usually `20bn-something-something-v2/`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from tabench import TabenchError
from tabench.data._build_common import Annotation, VideoIndex, build, check_out_dir, read_paper_splits
from tabench.taxonomy import load

KINDS = {"train": "train", "val": "validation"}
MAX_DEPTH = 3


def find_annotation_file(root: Path, kind: str, exclude: Path | None = None) -> Path | None:
    """`something-something-v2-<kind>.json` (preferred) or `<kind>.json`, shallowest first."""
    names = (f"something-something-v2-{kind}.json", f"{kind}.json")
    found: dict[str, list[Path]] = {n: [] for n in names}
    exclude = exclude.resolve() if exclude is not None else None
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).relative_to(root).parts)
        if depth >= MAX_DEPTH or (exclude is not None and Path(dirpath).resolve() == exclude):
            dirnames[:] = []
        if exclude is not None and Path(dirpath).resolve() == exclude:
            continue
        dirnames.sort()
        for n in names:
            if n in filenames:
                found[n].append(Path(dirpath) / n)
    for n in names:
        if found[n]:
            return min(found[n], key=lambda p: len(p.parts))
    return None


def _load_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TabenchError(f"{path}: not valid JSON ({getattr(e, 'msg', e)})") from None


def read_annotations(path: Path, split: str) -> list[Annotation]:
    data = _load_json(path)
    if not isinstance(data, list):
        raise TabenchError(f"{path}: expected a JSON list of {{\"id\", \"label\", \"template\", \"placeholders\"}} entries")
    out = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "id" not in item or "template" not in item:
            raise TabenchError(f"{path}: entry {i} lacks \"id\" or \"template\" (is this the test split, which has no labels?)")
        vid = str(item["id"]).strip()
        template = str(item["template"])
        meta = {"video_id": vid, "ssv2_label": str(item.get("label", ""))}
        label = " ".join(template.replace("[", "").replace("]", "").split())  # the class name, as in labels.json
        out.append(Annotation(split, label, (vid,), f"{path.name}[{i}]", meta))
    return out


def read_labels(path: Path) -> dict:
    data = _load_json(path)
    if not isinstance(data, dict) or not all(isinstance(v, (str, int)) for v in data.values()):
        raise TabenchError(f"{path}: expected a JSON object mapping template -> class id")
    return data


def build_ssv2_ta(ssv2_root, out, link: str = "symlink", strict: bool = False, workers: int | None = None,
                  probe: bool = True, log=print, paper_splits=None) -> dict:
    """Build SSv2-TA into `out`; returns the build report (see tabench.data._build_common.build)."""
    root, out = Path(ssv2_root), Path(out)
    if not root.is_dir():
        raise TabenchError(f"--ssv2-root {root}: no such folder")
    check_out_dir(out)
    files = {}
    for split, kind in KINDS.items():
        p = find_annotation_file(root, kind, exclude=out)
        if p is None:
            raise TabenchError(f"{root}: no something-something-v2-{kind}.json or {kind}.json under the root")
        files[split] = p
    labels_file = find_annotation_file(root, "labels", exclude=out)
    n_labels = len(read_labels(labels_file)) if labels_file else None
    annotations = [a for split, p in files.items() for a in read_annotations(p, split)]
    log(f"read {len(annotations)} annotations from {', '.join(str(p) for p in files.values())}")
    index = VideoIndex(root, exclude=out)
    log(f"found {len(index)} video files under {root}")
    source = {"root": str(root.resolve()), "annotations": {k: str(v) for k, v in files.items()},
              "labels_file": str(labels_file) if labels_file else None, "labels_in_labels_file": n_labels}
    selected = read_paper_splits(paper_splits, "ssv2_ta") if paper_splits else None
    if selected is not None:
        log(f"paper splits: {len(selected.videos)} videos listed in {selected.folder}")
    return build(load("ssv2-ta"), annotations, index, out, link=link, strict=strict, workers=workers, probe=probe,
                 meta_columns=("video_id", "ssv2_label"), source=source, log=log,
                 paper_splits=selected)
