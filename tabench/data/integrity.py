"""Whole-file video checks: is every video of a dataset there, decodable to its last frame, and of the size and
length its header (and the manifest) say?

`inspect_video` decodes one file completely (or, `fast`, only opens it and reads its header) and names what is
wrong with it as a `Problem` of one of these kinds:

  missing     the file is not there
  unreadable  it does not open as a video (zero bytes, random bytes, a picture), or decoding fails midway
  truncated   it decodes to fewer frames than its container lists, or than manifest.csv's `num_frames` says
  mis-sized   its frames are not the size its header gives, or not the manifest's `width` / `height` (for a
              generated Syn-TA, whose manifest has no such columns: the frame size of DATA/synth.json's `size`;
              a synth.json that is there but gives no usable size is an error, see `dataset_frame_size`)
  manifest    its manifest row's `num_frames` / `width` / `height` is not a positive whole number

`check_videos` runs it over many files in a process pool with a progress bar; `verify_dataset` is the check that
`tabench benchmark` / `tabench train` run before training, cached in DATA/.tabench/verified.json per manifest
sha256 and per file (size, mtime), so a dataset is decoded once and a file changed on disk is decoded again.
A video's problem is then an error naming it, or (with `skip_corrupt: true`) the video is left out and listed.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from tabench import TabenchError

PROBLEM_KINDS = ("missing", "unreadable", "truncated", "mis-sized", "manifest")
CACHE_FILE = ".tabench/verified.json"
CHECK_VERSION = 2  # bump when inspect_video's verdicts change, to invalidate cached ones


@dataclass(frozen=True)
class Problem:
    path: str  # as in the manifest (relative to the dataset root)
    kind: str  # one of PROBLEM_KINDS
    detail: str

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.path}: {self.kind} ({self.detail})"


def _positive_int(v) -> int | None:
    """A metadata cell as a positive int; None when empty; ValueError when it is something else."""
    text = "" if v is None else str(v).strip()
    if text == "":
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n <= 0:
        raise ValueError(text)
    return n


def dataset_frame_size(root: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) a generated Syn-TA was rendered at (from DATA/synth.json options.size); None without a
    synth.json (K400-TA, SSv2-TA). A synth.json that cannot be read or gives no usable size is a TabenchError
    naming the file and why: the frame-size check is never skipped silently."""
    path = Path(root) / "synth.json"
    if not (path.exists() or path.is_symlink()):
        return None
    from tabench.synth.generate import MAX_SIZE, MIN_SIZE, frame_size, read_options

    size = (read_options(root) or {}).get("size")
    if isinstance(size, bool) or not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        why = "is missing" if size is None else f"is {size!r}, not a number of pixels from {MIN_SIZE} to {MAX_SIZE}"
        raise TabenchError(f"{path} options.size {why}")
    return frame_size(size)


def expectations(entry, frame_size: tuple[int, int] | None = None) -> dict:
    """What the manifest row says about its file (metadata columns written by the producers), if anything;
    `frame_size` is the dataset's (width, height) where the rows lack those columns. A cell that is not a
    positive whole number is named under "bad" (a manifest problem, never silently ignored)."""
    meta = getattr(entry, "meta", {}) or {}
    exp: dict = {"bad": [], "size_from": "manifest.csv"}
    for key, col in (("frames", "num_frames"), ("width", "width"), ("height", "height")):
        try:
            exp[key] = _positive_int(meta.get(col))
        except ValueError as e:
            exp[key] = None
            exp["bad"].append(f"{col} {str(e)!r}")
    if frame_size and exp["width"] is None and exp["height"] is None and not exp["bad"]:
        exp["width"], exp["height"] = frame_size
        exp["size_from"] = "synth.json size"
    return exp


def inspect_video(path: str | os.PathLike, frames: int | None = None, width: int | None = None,
                  height: int | None = None, fast: bool = False,
                  size_from: str = "manifest.csv") -> tuple[str, str] | None:
    """(kind, detail) of what is wrong with one video file, or None; `size_from` names where the expected
    width and height come from. Never raises (a pool worker)."""
    import av

    from tabench.data.video import VideoReader, _reason

    path = Path(path)
    try:
        if not path.is_file():
            return "missing", "no such file"
        if path.stat().st_size == 0:
            return "unreadable", "empty file (0 bytes)"
        try:
            reader = VideoReader(path, threads=None)
        except TabenchError as e:
            return "unreadable", str(e).split(": ", 1)[-1].removeprefix("unreadable video (").rstrip(")")
        with reader:
            info = reader.info
            if (width and width != info.width) or (height and height != info.height):
                return "mis-sized", f"header gives {info.width}x{info.height}, {size_from} {width}x{height}"
            if fast:
                return None
            n, odd = 0, None
            try:
                for frame in reader._container.decode(reader._stream):
                    if odd is None and (frame.width, frame.height) != (info.width, info.height):
                        odd = (n, frame.width, frame.height)
                    n += 1
            except (av.FFmpegError, ValueError) as e:
                listed = info.num_frames if info.exact else frames
                if listed and n < listed:
                    return "truncated", f"decoding stopped after {n} of {listed} frames ({_reason(e)})"
                return "unreadable", f"decoding failed after {n} frames ({_reason(e)})"
        if n == 0:
            return "unreadable", "no frame could be decoded"
        if info.exact and n < info.num_frames:
            return "truncated", f"decoded {n} of the {info.num_frames} frames its container lists"
        if frames and n < frames:
            return "truncated", f"decoded {n} of the {frames} frames manifest.csv lists"
        if odd is not None:
            return "mis-sized", f"frame {odd[0]} is {odd[1]}x{odd[2]}, the header gives {info.width}x{info.height}"
        return None
    except Exception as e:  # noqa: BLE001 - a check reports every failure instead of crashing the pool
        return "unreadable", f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"


def _inspect_job(job: tuple) -> tuple[str, tuple[str, str] | None, list]:
    rel, path, exp, fast = job
    if exp.get("bad"):
        verdict = ("manifest", f"manifest.csv row has {', '.join(exp['bad'])}: not a positive whole number")
    else:
        verdict = inspect_video(path, exp["frames"], exp["width"], exp["height"], fast=fast,
                                size_from=exp["size_from"])
    try:
        st = os.stat(path)
        stamp = [st.st_size, st.st_mtime_ns]
    except OSError:
        stamp = None
    return rel, verdict, stamp


def check_videos(root: str | os.PathLike, entries, fast: bool = False, workers: int | None = None,
                 progress: bool = True, desc: str = "checking videos",
                 frame_size: tuple[int, int] | None | str = "synth.json") -> tuple[list[Problem], dict]:
    """Inspect the files of `entries` (manifest rows) in parallel. `frame_size` is the (width, height) of rows
    without width/height columns: by default DATA/synth.json's (`dataset_frame_size`, an error if that file is
    bad), None for none. Returns (problems in manifest order, {path: [size, mtime_ns] or None} of every file
    checked)."""
    root = Path(root)
    if frame_size == "synth.json":
        frame_size = dataset_frame_size(root)
    jobs = [(e.path, str(root / e.path), expectations(e, frame_size), fast) for e in entries]
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    results: dict = {}
    bar = None
    if progress and jobs:
        from tqdm import tqdm
        bar = tqdm(total=len(jobs), desc=desc, unit="video", leave=False, dynamic_ncols=True, file=sys.stderr)
    if workers == 1 or len(jobs) < 8:
        for job in jobs:
            rel, verdict, stamp = _inspect_job(job)
            results[rel] = (verdict, stamp)
            if bar is not None:
                bar.update()
    else:
        import multiprocessing as mp

        ctx = mp.get_context("spawn" if sys.platform == "darwin" else "fork")
        with ctx.Pool(workers) as pool:
            chunk = max(1, min(32, len(jobs) // (8 * workers)))
            for rel, verdict, stamp in pool.imap_unordered(_inspect_job, jobs, chunksize=chunk):
                results[rel] = (verdict, stamp)
                if bar is not None:
                    bar.update()
    if bar is not None:
        bar.close()
    problems = [Problem(e.path, *results[e.path][0]) for e in entries if results[e.path][0] is not None]
    return problems, {rel: r[1] for rel, r in results.items()}


def _stamp(path: Path) -> list | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def verify_dataset(root: str | os.PathLike, entries, workers: int | None = None, progress: bool = True) -> list[Problem]:
    """Fully decode the files of `entries` unless an earlier check of the same manifest (sha256) already saw
    them unchanged (same size and mtime) against the same synth.json frame size; return their problems. The
    verdicts are kept in DATA/.tabench/."""
    from tabench.data.format import manifest_sha256
    from tabench.io import atomic_write_json

    root = Path(root)
    sha = manifest_sha256(root)
    frame_size = dataset_frame_size(root)  # a bad synth.json is an error here, cached verdicts or not
    size_key = list(frame_size) if frame_size else None
    cache_path = root / CACHE_FILE
    cache = {}
    try:
        saved = json.loads(cache_path.read_text(encoding="utf-8"))
        if (saved.get("manifest_sha256") == sha and saved.get("version") == CHECK_VERSION
                and saved.get("frame_size") == size_key):
            cache = saved.get("files", {})
    except (OSError, ValueError, AttributeError):
        pass
    verdicts: dict[str, dict] = {}
    todo = []
    for e in entries:
        rec = cache.get(e.path)
        if rec is not None and rec.get("stamp") is not None and rec["stamp"] == _stamp(root / e.path):
            verdicts[e.path] = rec
        else:
            todo.append(e)
    if todo:
        problems, stamps = check_videos(root, todo, workers=workers, progress=progress,
                                        desc=f"checking {len(todo)} videos", frame_size=frame_size)
        bad = {p.path: p for p in problems}
        for e in todo:
            p = bad.get(e.path)
            verdicts[e.path] = {"stamp": stamps.get(e.path),
                                "problem": None if p is None else {"kind": p.kind, "detail": p.detail}}
        try:
            atomic_write_json(cache_path, {"version": CHECK_VERSION, "manifest_sha256": sha, "frame_size": size_key,
                                           "files": {**cache, **verdicts}})
        except OSError as e:  # a read-only dataset: the check is redone next time, nothing else changes
            print(f"note: could not keep the video check results in {cache_path} ({e.strerror})", file=sys.stderr)
    return [Problem(e.path, verdicts[e.path]["problem"]["kind"], verdicts[e.path]["problem"]["detail"])
            for e in entries if verdicts[e.path]["problem"] is not None]


def refuse_bad_videos(root, problems: list[Problem], what: str = "the videos this run uses") -> None:
    """The one-line error for bad videos found before training (without `skip_corrupt`)."""
    if not problems:
        return
    first = "; ".join(str(p) for p in problems[:3])
    more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
    raise TabenchError(f"{root}: {len(problems)} of {what} cannot be used: {first}{more}; "
                       "see `tabench data check`, or set skip_corrupt: true to leave them out")
