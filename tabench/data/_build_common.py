"""What the K400-TA and SSv2-TA builders share: finding videos under a root, matching annotation labels to
taxonomy classes, probing files with PyAV in parallel, linking, the build report, and writing the dataset.

A builder turns its annotation files into `Annotation`s (one per annotated video) and a `VideoIndex`, then
calls `build()`. Nothing is dropped silently: every annotation ends up either in the dataset or in one of
the report's lists (labels not in the dataset, unknown labels, duplicates, missing or unreadable videos).
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import re
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tabench import TabenchError
from tabench.data.format import SPLITS, VideoEntry, write_dataset
from tabench.data.video import VIDEO_EXTENSIONS, check_readable
from tabench.io import atomic_path, atomic_write_json
from tabench.taxonomy import SETS, Fine, Taxonomy, official_labels

LINK_MODES = ("symlink", "hardlink", "copy")


def norm_label(label: str) -> str:
    """Comparison key of a class name: case, brackets, underscores and punctuation do not matter
    ("Holding [something] next to [something]" == "Holding something next to something",
    "passing_American_football_(in_game)" == "passing American football (in game)")."""
    return re.sub(r"[^a-z0-9]+", " ", label.lower()).strip()


@dataclass
class Annotation:
    """One annotated video of the source dataset."""

    split: str  # our split: train | val
    label: str  # the label as written in the annotation file
    keys: tuple[str, ...]  # file stems to look for, best first
    where: str  # "file:line" of the annotation, for the report
    meta: dict = field(default_factory=dict)


class VideoIndex:
    """Every video file under a root, by file stem (without extension)."""

    def __init__(self, root: Path, exclude: Path | None = None):
        self.root = root
        self.by_stem: dict[str, list[Path]] = defaultdict(list)
        seen_dirs = set()
        exclude = exclude.resolve() if exclude is not None else None
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            real = os.path.realpath(dirpath)
            if real in seen_dirs or (exclude is not None and Path(real) == exclude):
                dirnames[:] = []
                continue
            seen_dirs.add(real)
            dirnames.sort()
            for name in sorted(filenames):
                stem, ext = os.path.splitext(name)
                if ext.lower() in VIDEO_EXTENSIONS and not name.startswith("."):
                    self.by_stem[stem].append(Path(dirpath) / name)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_stem.values())

    def find(self, keys, hints=()) -> Path | None:
        """The file for the first key that exists; among several files, the one whose folders match a hint
        (split or class folder names, compared with norm_label)."""
        for key in keys:
            paths = self.by_stem.get(key)
            if not paths:
                continue
            if len(paths) == 1 or not hints:
                return paths[0]
            want = {norm_label(h) for h in hints}
            scored = sorted(paths, key=lambda p: -sum(norm_label(part) in want for part in p.relative_to(self.root).parts[:-1]))
            return scored[0]
        return None


def find_file(root: Path, names, subdirs=("", "annotations")) -> Path | None:
    for sub in subdirs:
        for name in names:
            p = root / sub / name if sub else root / name
            if p.is_file():
                return p
    return None


def probe_all(paths: list[Path], workers: int | None) -> dict[Path, str | None]:
    """check_readable on every path, in a process pool; {path: None (fine) or reason}."""
    workers = max(1, min(workers or os.cpu_count() or 1, len(paths) or 1))
    if workers == 1 or len(paths) < 8:
        return {p: check_readable(p) for p in paths}
    with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return dict(zip(paths, pool.map(check_readable, paths, chunksize=max(1, min(64, len(paths) // (4 * workers))))))


def link_video(src: Path, dst: Path, mode: str) -> None:
    """Make dst refer to src without modifying src; idempotent when dst already is that video."""
    if dst.is_symlink() or dst.exists():
        if mode == "symlink" and dst.is_symlink() and os.readlink(dst) == str(src):
            return
        if mode == "hardlink" and dst.exists() and os.path.samefile(src, dst):
            return
        if mode == "copy" and not dst.is_symlink() and dst.is_file() and dst.stat().st_size == src.stat().st_size:
            return
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dst, suffix=dst.suffix) as tmp:
        tmp.unlink()
        try:
            if mode == "symlink":
                os.symlink(src, tmp)
            elif mode == "hardlink":
                os.link(src, tmp)
            else:
                shutil.copyfile(src, tmp)
        except OSError as e:
            hint = " (hard links cannot cross file systems: use --link symlink or copy)" if mode == "hardlink" else ""
            raise TabenchError(f"cannot {mode} {src} -> {dst}: {e.strerror or e}{hint}") from None


def check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise TabenchError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not ((out / "manifest.csv").exists() or (out / "build_report.json").exists()):
        raise TabenchError(f"--out {out} is a non-empty folder that is not a tabench dataset; choose an empty or new folder")


PAPER_SPLIT_DIRS = ("coarse_classes", "fine_classes")
_PAPER_SPLIT_FILE = re.compile(r"^(train|val)_set([12])_(coarse|fine)\.txt$")


@dataclass
class PaperSplits:
    """The videos of the paper's split files (`dataset_splits/<dataset>/coarse_classes/{train,val}_set{1,2}_coarse.txt`,
    `path label` lines), by file stem: stem -> (split, set, "file:line")."""

    folder: Path
    videos: dict[str, tuple[str, int, str]]


def read_paper_splits(folder: str | Path, dataset_dir: str) -> PaperSplits:
    """Read the paper's split files for one dataset from its `dataset_splits/` folder (or the dataset's own
    folder in it, e.g. `dataset_splits/k400_ta`). The coarse files are used; the fine files list the same
    videos and are read only where no coarse file exists."""
    folder = Path(folder)
    for cand in (folder / dataset_dir, folder / "dataset_splits" / dataset_dir, folder):
        if any((cand / d).is_dir() for d in PAPER_SPLIT_DIRS):
            base = cand
            break
    else:
        raise TabenchError(f"--paper-splits {folder}: no {dataset_dir}/coarse_classes/ or {dataset_dir}/fine_classes/ "
                           "folder (pass the paper's dataset_splits/ folder)")
    videos: dict[str, tuple[str, int, str]] = {}
    for d in PAPER_SPLIT_DIRS:
        files = sorted(p for p in (base / d).glob("*.txt") if _PAPER_SPLIT_FILE.match(p.name)) if (base / d).is_dir() else []
        if not files:
            continue
        for p in files:
            split, set_id, _ = _PAPER_SPLIT_FILE.match(p.name).groups()
            for lineno, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                path = line.split()[0]
                stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
                videos.setdefault(stem, (split, int(set_id), f"{p.name}:{lineno}"))
        break
    if not videos:
        raise TabenchError(f"--paper-splits {base}: no {{train,val}}_set{{1,2}}_{{coarse,fine}}.txt split files")
    return PaperSplits(base, videos)


def build(tax: Taxonomy, annotations: list[Annotation], index: VideoIndex, out: Path, *, link: str = "symlink",
          strict: bool = False, workers: int | None = None, probe: bool = True, meta_columns=(),
          file_hints=None, source: dict | None = None, log=print, paper_splits: PaperSplits | None = None) -> dict:
    """Match, find, probe, link and write; returns the report (also written to out/build_report.json).
    Raises TabenchError under `strict` when anything was missing, unreadable, duplicated or unknown.
    With `paper_splits`, only the videos of the paper's split files are taken (in their split); the report's
    `paper_splits` says which of them the annotations lack and which were annotated but not found."""
    if link not in LINK_MODES:
        raise TabenchError(f"--link must be one of {', '.join(LINK_MODES)}, got {link!r}")
    from tabench.outputs import claim

    claim(out, "dataset", tax.name)  # never replace another kind of dataset's manifest, or mix into a run
    paper_report = None
    if paper_splits is not None:
        listed = paper_splits.videos
        annotated = {a.keys[0] for a in annotations}
        other_split = [{"video": a.keys[0], "annotation": a.where, "paper_split": listed[a.keys[0]][0],
                        "split": a.split} for a in annotations
                       if a.keys[0] in listed and listed[a.keys[0]][0] != a.split]
        annotations = [a for a in annotations if a.keys[0] in listed and listed[a.keys[0]][0] == a.split]
        not_annotated = sorted(stem for stem in listed if stem not in annotated)
        paper_report = {"folder": str(paper_splits.folder), "listed": len(listed),
                        "not_in_annotations": not_annotated, "in_another_split": other_split}
    official = {norm_label(x): x for x in official_labels(tax.name)}
    by_label = {norm_label(src): f for src, f in tax.by_source_label().items()}
    not_in_dataset: Counter = Counter()
    unknown: Counter = Counter()
    duplicates, missing, unreadable = [], [], []
    kept: list[tuple[Annotation, Fine, Path]] = []
    seen: dict[tuple[str, str], str] = {}
    for a in annotations:
        key = norm_label(a.label)
        fine = by_label.get(key)
        if fine is None:
            (not_in_dataset if key in official else unknown)[a.label] += 1
            continue
        ident = (a.split, a.keys[0])
        if ident in seen:
            duplicates.append({"split": a.split, "label": a.label, "video": a.keys[0], "annotation": a.where,
                               "first_at": seen[ident]})
            continue
        seen[ident] = a.where
        hints = file_hints(a) if file_hints else ()
        path = index.find(a.keys, hints)
        if path is None:
            missing.append({"split": a.split, "label": a.label, "video": a.keys[0], "annotation": a.where})
            continue
        kept.append((a, fine, path))
    if probe and kept:
        log(f"probing {len(kept)} videos with PyAV ({workers or os.cpu_count()} workers) ...")
        verdict = probe_all([p for _, _, p in kept], workers)
        good = []
        for a, fine, p in kept:
            if verdict[p] is None:
                good.append((a, fine, p))
            else:
                unreadable.append({"split": a.split, "label": a.label, "path": str(p), "reason": verdict[p],
                                   "annotation": a.where})
        kept = good

    # destination names: the source file name, made unique within its class folder when needed
    entries, links = [], []
    used: dict[str, Path] = {}
    for a, fine, p in kept:
        name = p.name
        rel = f"videos/{fine.slug}/{name}"
        if rel in used and used[rel] != p:
            rel = f"videos/{fine.slug}/{a.split}_{name}"
        used[rel] = p
        entries.append(VideoEntry(rel, fine.set, a.split, fine.coarse_id, fine.id,
                                  {**a.meta, "source_label": a.label, "source_path": str(p)}))
        links.append((p, out / rel))

    counts = {(f.set, f.id): Counter() for f in tax.fine}
    for e in entries:
        counts[(e.set, e.fine_id)][e.split] += 1
    classes, empty = [], []
    for f in sorted(tax.fine, key=lambda f: (f.set, f.id)):
        c = counts[(f.set, f.id)]
        classes.append({"set": f.set, "fine_id": f.id, "name": f.name, "slug": f.slug, "coarse_id": f.coarse_id,
                        "source_label": f.source_label, "train": c["train"], "val": c["val"]})
        for split in SPLITS:
            if c[split] == 0:
                empty.append({"set": f.set, "fine_id": f.id, "name": f.name, "split": split})
    sets = {}
    for s in SETS:
        sets[str(s)] = {"fine_classes": len(tax.fine_of_set(s)), "coarse_classes": len(tax.coarse),
                        **{split: sum(1 for e in entries if e.set == s and e.split == split) for split in SPLITS},
                        "empty_classes": sum(1 for x in empty if x["set"] == s)}
    problems = {"missing_videos": len(missing), "unreadable_videos": len(unreadable),
                "duplicate_annotations": len(duplicates), "unknown_labels": sum(unknown.values()),
                "empty_classes": len(empty)}
    if paper_report is not None:
        paper_report["missing_videos"] = [m["video"] for m in missing]
        paper_report["unreadable_videos"] = [u["path"] for u in unreadable]
        paper_report["selected"] = len(entries)
        paper_report["set_mismatch"] = [{"video": a.keys[0], "set": fine.set,
                                         "paper_set": paper_splits.videos[a.keys[0]][1]}
                                        for a, fine, _ in kept if paper_splits.videos[a.keys[0]][1] != fine.set]
        lacking = len(paper_report["not_in_annotations"]) + len(missing) + len(unreadable)
        log(f"paper splits: {len(entries)} of the {paper_report['listed']} listed videos taken; your copy lacks "
            f"{lacking} ({len(paper_report['not_in_annotations'])} not in the annotations, {len(missing)} missing "
            f"files, {len(unreadable)} unreadable; listed in build_report.json, paper_splits)")
    report = {
        "dataset": tax.name, "out": str(out), "link": link, "strict": strict, "probed": probe,
        "paper_splits": paper_report,
        "source": source or {},
        "totals": {"annotations": len(annotations), "videos": len(entries),
                   "not_in_dataset": sum(not_in_dataset.values()), **problems},
        "ok": not any(problems.values()),
        "sets": sets,
        "classes": classes,
        "empty_classes": empty,
        "missing_videos": missing,
        "unreadable_videos": unreadable,
        "duplicate_annotations": duplicates,
        "unknown_labels": dict(sorted(unknown.items())),
        "labels_not_in_dataset": dict(sorted(not_in_dataset.items())),
        "dataset_written": False,
    }
    out.mkdir(parents=True, exist_ok=True)
    if strict and not report["ok"]:
        atomic_write_json(out / "build_report.json", report)
        summarise(report, log)
        bad = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in problems.items() if v)
        raise TabenchError(f"--strict: {bad}; nothing written except {out / 'build_report.json'}")
    if link != "symlink" or entries:
        log(f"linking {len(links)} videos into {out / 'videos'} ({link}) ...")
    for src, dst in links:
        link_video(src.resolve() if link == "symlink" else src, dst, link)
    write_dataset(out, tax, entries, meta_columns=[*meta_columns, "source_label", "source_path"])
    report["dataset_written"] = True
    atomic_write_json(out / "build_report.json", report)
    summarise(report, log)
    return report


def summarise(report: dict, log=print, limit: int = 5) -> None:
    """A few lines for the terminal; everything is in build_report.json."""
    t = report["totals"]
    log(f"{report['dataset']}: {t['videos']} videos from {t['annotations']} annotations "
        f"({t['not_in_dataset']} of classes outside {report['dataset']})")
    for s, v in report["sets"].items():
        log(f"  set {s}: {v['fine_classes']} fine / {v['coarse_classes']} coarse classes, "
            f"train {v['train']}, val {v['val']} videos, {v['empty_classes']} (class, split) without video")
    for key, what in (("missing_videos", "missing"), ("unreadable_videos", "unreadable"),
                      ("duplicate_annotations", "duplicate annotations"), ("empty_classes", "empty (class, split)")):
        items = report[key]
        if items:
            shown = "; ".join(_short(x) for x in items[:limit])
            more = f" ... and {len(items) - limit} more" if len(items) > limit else ""
            log(f"  {what}: {len(items)}: {shown}{more}")
    if report["unknown_labels"]:
        labels = list(report["unknown_labels"])
        log(f"  ERROR labels that are not official class names: {len(labels)}: "
            + "; ".join(repr(x) for x in labels[:limit]) + (" ..." if len(labels) > limit else ""))
    log(f"  report: {Path(report['out']) / 'build_report.json'}"
        + ("" if report["dataset_written"] else " (dataset not written)"))


def _short(x: dict) -> str:
    if "reason" in x:
        return f"{x['path']} ({x['reason']})"
    if "video" in x:
        return f"{x['video']} [{x['label']}, {x['annotation']}]"
    return f"set {x['set']} {x['split']} {x['name']!r}"
