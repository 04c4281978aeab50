"""The dataset directory format, written by every producer (Syn-TA generator, K400-TA / SSv2-TA builders)
and read by every consumer (training, evaluation, `tabench data check`):

    DATA/
      taxonomy.json   the taxonomy snapshot ({"name", "coarse": [...], "fine": [...]})
      manifest.csv    one row per video: path, set, split, coarse_id, fine_id, then optional metadata columns
      splits/{train,val}_set{1,2}_{coarse,fine}.txt   "relative/path label" lines (mmaction2 video lists);
                      fine labels are set-local ids

See docs/datasets.md.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from tabench import TabenchError
from tabench.io import atomic_write_text
from tabench.taxonomy import SETS, Taxonomy, from_dict

MANIFEST_COLUMNS = ("path", "set", "split", "coarse_id", "fine_id")
SPLITS = ("train", "val")
LEVELS = ("coarse", "fine")


@dataclass(frozen=True)
class VideoEntry:
    path: str  # relative to the dataset root, '/'-separated
    set: int
    split: str
    coarse_id: int
    fine_id: int  # set-local
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def label(self, level: str) -> int:
        if level == "coarse":
            return self.coarse_id
        if level == "fine":
            return self.fine_id
        raise TabenchError(f"unknown level {level!r} (use coarse or fine)")


def split_file(split: str, set_id: int, level: str) -> str:
    return f"splits/{split}_set{set_id}_{level}.txt"


def write_dataset(root: str | Path, taxonomy: Taxonomy, entries: Iterable[VideoEntry],
                  meta_columns: Iterable[str] | None = None) -> None:
    """Write taxonomy.json, manifest.csv and every split list (atomically, file by file)."""
    root = Path(root)
    entries = sorted(entries, key=lambda e: (e.set, SPLITS.index(e.split), e.fine_id, e.path))
    if meta_columns is None:
        meta_columns = sorted({k for e in entries for k in e.meta})
    meta_columns = [c for c in meta_columns if c not in MANIFEST_COLUMNS]
    atomic_write_text(root / "taxonomy.json", json.dumps(taxonomy.to_dict(), indent=1, ensure_ascii=False) + "\n")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*MANIFEST_COLUMNS, *meta_columns])
    for e in entries:
        w.writerow([e.path, e.set, e.split, e.coarse_id, e.fine_id, *(e.meta.get(c, "") for c in meta_columns)])
    atomic_write_text(root / "manifest.csv", buf.getvalue())
    for split in SPLITS:
        for s in SETS:
            for level in LEVELS:
                lines = [f"{e.path} {e.label(level)}\n" for e in entries if e.set == s and e.split == split]
                atomic_write_text(root / split_file(split, s, level), "".join(lines))


def read_taxonomy(root: str | Path) -> Taxonomy:
    path = Path(root) / "taxonomy.json"
    if not path.is_file():
        raise TabenchError(f"{root}: not a tabench dataset (no taxonomy.json)")
    try:
        return from_dict(json.loads(path.read_text(encoding="utf-8")), check_counts=False)
    except json.JSONDecodeError as e:
        raise TabenchError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None


def read_manifest(root: str | Path) -> list[VideoEntry]:
    """Parse manifest.csv; raises TabenchError naming the file and line on malformed rows."""
    path = Path(root) / "manifest.csv"
    if not path.is_file():
        raise TabenchError(f"{root}: no manifest.csv")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header[:5]) != MANIFEST_COLUMNS:
            raise TabenchError(f"{path}: header must start with {','.join(MANIFEST_COLUMNS)}, found {header}")
        meta_cols = header[5:]
        entries = []
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise TabenchError(f"{path}:{lineno}: expected {len(header)} columns, found {len(row)}")
            try:
                e = VideoEntry(row[0], int(row[1]), row[2], int(row[3]), int(row[4]), dict(zip(meta_cols, row[5:])))
            except ValueError:
                raise TabenchError(f"{path}:{lineno}: set, coarse_id and fine_id must be integers: {row[:5]}") from None
            if e.split not in SPLITS:
                raise TabenchError(f"{path}:{lineno}: split must be train or val, found {e.split!r}")
            if e.set not in SETS:
                raise TabenchError(f"{path}:{lineno}: set must be 1 or 2, found {e.set}")
            entries.append(e)
    return entries


def read_split(path: str | Path) -> list[tuple[str, int]]:
    """Read a "relative/path label" list; the path may contain spaces (the label is the last field)."""
    out = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        rel, _, label = line.rstrip().rpartition(" ")
        if not rel or not label.lstrip("-").isdigit():
            raise TabenchError(f"{path}:{lineno}: expected 'relative/path label', found {line!r}")
        out.append((rel, int(label)))
    return out


@dataclass
class Dataset:
    """A dataset directory, loaded and validated enough to train on."""

    root: Path
    taxonomy: Taxonomy
    entries: list[VideoEntry]

    def select(self, set_id: int, split: str) -> list[VideoEntry]:
        return [e for e in self.entries if e.set == set_id and e.split == split]

    def abspath(self, entry: VideoEntry) -> Path:
        return self.root / entry.path


def open_dataset(root: str | Path, validate: bool = True) -> Dataset:
    """Load a dataset directory. With `validate` (the default), refuse manifest rows whose path leaves the dataset
    root, that repeat a path, or whose classes the taxonomy does not have (or whose fine class belongs to another
    coarse class), with one line naming the first bad rows, instead of failing later mid-epoch or scoring a video
    under a wrong label or twice."""
    root = Path(root)
    if not root.is_dir():
        raise TabenchError(f"{root}: no such dataset directory")
    ds = Dataset(root, read_taxonomy(root), read_manifest(root))
    if validate:
        problems = entry_problems(ds)
        if problems:
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise TabenchError(f"{root / 'manifest.csv'}: {'; '.join(problems[:3])}{more}; "
                               "see `tabench data check`")
    return ds


def unsafe_path_reason(rel: str) -> str | None:
    """Why a manifest path is not a plain relative path inside the dataset root, or None."""
    if not rel:
        return "empty path"
    if "\\" in rel or rel.startswith("/") or os.path.isabs(rel) or (len(rel) > 1 and rel[1] == ":"):
        return "absolute path (paths are relative to the dataset root)"
    if any(part in ("..", ".", "") for part in rel.split("/")):
        return "path leaves the dataset root or is not normalised ('..', '//' or './')"
    return None


def entry_problems(ds: Dataset) -> list[str]:
    """Every manifest row that cannot be trained on as written: unsafe paths, folders that are symlinks out of
    the dataset root, class ids the taxonomy lacks, fine classes of another coarse class, paths listed in more
    than one row (such a video would be trained on and scored twice). A video file that is itself a symlink is
    allowed (the builders link to the user's copy of Kinetics / SSv2)."""
    out = [f"duplicate path in manifest.csv ({n} rows): {p}"
           for p, n in sorted(Counter(e.path for e in ds.entries).items()) if n > 1]
    tax = ds.taxonomy
    fine_ids = {s: {f.id: f for f in tax.fine_of_set(s)} for s in SETS}
    n_coarse = len(tax.coarse)
    root_real = os.path.realpath(ds.root)
    folder_ok: dict[str, bool] = {}
    for e in ds.entries:
        reason = unsafe_path_reason(e.path)
        if reason is None:
            folder = e.path.rpartition("/")[0]
            if folder not in folder_ok:
                real = os.path.realpath(ds.root / folder) if folder else root_real
                folder_ok[folder] = real == root_real or real.startswith(root_real + os.sep)
            if not folder_ok[folder]:
                reason = "its folder is a symlink out of the dataset root"
        if reason is not None:
            out.append(f"{e.path!r}: {reason}")
            continue
        if not 0 <= e.coarse_id < n_coarse:
            out.append(f"{e.path}: coarse_id {e.coarse_id} is outside the taxonomy (0..{n_coarse - 1})")
            continue
        f = fine_ids[e.set].get(e.fine_id)
        if f is None:
            out.append(f"{e.path}: fine_id {e.fine_id} is not a class of set {e.set} in the taxonomy")
        elif f.coarse_id != e.coarse_id:
            out.append(f"{e.path}: coarse_id {e.coarse_id} disagrees with the taxonomy "
                       f"({f.name!r} is coarse {f.coarse_id})")
    return out


def manifest_sha256(root: str | Path) -> str:
    """sha256 of manifest.csv: what a run records to tie its results to the dataset it was computed on."""
    path = Path(root) / "manifest.csv"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise TabenchError(f"{root}: no manifest.csv") from None


@dataclass
class CheckReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_dataset(root: str | Path, check_files: bool = True) -> CheckReport:
    """Everything that can be wrong with a dataset directory, as a list of messages (not exceptions)."""
    rep = CheckReport()
    root = Path(root)
    try:
        ds = open_dataset(root, validate=False)
    except TabenchError as e:
        rep.errors.append(str(e))
        return rep
    tax = ds.taxonomy
    fine_ids = {s: {f.id: f for f in tax.fine_of_set(s)} for s in SETS}
    rep.errors.extend(entry_problems(ds))
    if check_files:
        for e in ds.entries:
            if unsafe_path_reason(e.path) is None and not (root / e.path).is_file():
                rep.errors.append(f"missing video: {e.path}")
    for split in SPLITS:
        for s in SETS:
            expected = {e.path: e for e in ds.entries if e.set == s and e.split == split}
            for level in LEVELS:
                name = split_file(split, s, level)
                if not (root / name).is_file():
                    rep.errors.append(f"missing split file: {name}")
                    continue
                try:
                    lines = read_split(root / name)
                except TabenchError as e:
                    rep.errors.append(str(e))
                    continue
                n_classes = len(tax.coarse) if level == "coarse" else len(fine_ids[s])
                listed = {}
                for rel, label in lines:
                    if not 0 <= label < n_classes:
                        rep.errors.append(f"{name}: label {label} of {rel} is outside the taxonomy "
                                          f"({level} labels of set {s} are 0..{n_classes - 1})")
                    elif rel not in expected:
                        rep.errors.append(f"{name}: {rel} is not a {split} video of set {s} in manifest.csv")
                    elif label != expected[rel].label(level):
                        rep.errors.append(f"{name}: {rel} has label {label}, manifest.csv says {expected[rel].label(level)}")
                    listed[rel] = label
                for rel in expected.keys() - listed.keys():
                    rep.errors.append(f"{name}: {rel} is in manifest.csv but not in the split")
            for f in fine_ids[s].values():
                if not any(e.fine_id == f.id for e in expected.values()):
                    rep.warnings.append(f"set {s} {split}: no video of fine class {f.id} {f.name!r}")
            rep.counts[f"{split}_set{s}"] = len(expected)
    return rep
