"""Pre-decoded clip cache: decode every video of a (set, split) once, keep uint8 frames in memory-mapped
files, and let every later epoch and run read them instead of decoding again.

What is stored, per video, at short side `scale_size(size)` (round(size * 8 / 7), e.g. 128 for 112):
  segment sampling  K = num_frames x frames_per_segment (default 3) uniformly spaced frames, the centres of
                    K equal sub-segments. Test-time segment sampling (segment centres) hits stored frames
                    exactly, because frames_per_segment is odd; training picks, in each segment, the stored
                    frame nearest to a uniformly random one, so temporal jitter has `frames_per_segment`
                    choices per segment instead of every frame of it.
  dense sampling    every `frame_interval`-th frame (aligned with the test-time window, plus the last frame),
                    so any window of num_frames x frame_interval is available, with start jitter in steps
                    of frame_interval. This grows with video length (fine for Syn-TA's ~105 frames; for
                    10 s Kinetics clips prefer segment sampling or no cache).
Random resized crops still vary, since the stored frames are whole frames larger than the crop.
Cost: K x H x W x 3 bytes per video, e.g. 24 frames at 128 x 171 = 1.6 MB (segment, 8 frames, 112 px).

Layout of one cache (a folder under `cache_dir`, named by dataset, set, split, sampling and size):
  chunk_NNNNN.u8    the frames of `chunk_size` consecutive videos, concatenated
  chunk_NNNNN.json  their records: path, num_frames (the count sampling uses), positions, offset, shape,
                    or error (an unreadable video)
  index.json        written last: parameters, the dataset signature, chunk size; its presence marks a complete cache
Chunks are written atomically, so an interrupted build resumes where it stopped. The signature hashes the
selected manifest rows and each video's size and modification time; when it changes, the cache is rebuilt.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
from pathlib import Path

import numpy as np

from tabench import TabenchError
from tabench.data.format import open_dataset
from tabench.data.video import VideoReader
from tabench.io import atomic_path, atomic_write_json

CACHE_VERSION = 1
DEFAULT_FRAMES_PER_SEGMENT = 3


def scale_size(size: int) -> int:
    """Short side frames are decoded at (the same rule as tabench.data.clips.scale_size)."""
    return int(round(size * 8 / 7))


def cache_positions(num_video_frames: int, sampling: str, num_frames: int, frame_interval: int,
                    frames_per_segment: int = DEFAULT_FRAMES_PER_SEGMENT) -> np.ndarray:
    """Sorted frame indices the cache stores for a video of `num_video_frames` frames."""
    L = max(1, int(num_video_frames))
    if sampling == "segment":
        k = num_frames * frames_per_segment
        pos = np.floor((np.arange(k) + 0.5) * (L / k)).astype(np.int64)
    elif sampling == "dense":
        span = (num_frames - 1) * frame_interval + 1
        test_start = int(0.5 * (max(0, L - span) + 1))
        pos = np.append(np.arange(test_start % frame_interval, L, frame_interval), L - 1)
    else:
        raise TabenchError(f"unknown sampling {sampling!r} (use segment or dense)")
    return np.unique(np.clip(pos, 0, L - 1))


def _params(set_id, split, num_frames, size, sampling, frame_interval, frames_per_segment) -> dict:
    p = {"version": CACHE_VERSION, "set": int(set_id), "split": split, "sampling": sampling,
         "num_frames": int(num_frames), "short_side": scale_size(size)}
    if sampling == "dense":
        p["frame_interval"] = int(frame_interval)
    else:
        p["frames_per_segment"] = int(frames_per_segment)
    return p


def cache_folder(root, cache_dir, params: dict) -> Path:
    root = Path(root).resolve()
    h = hashlib.sha1(json.dumps([str(root), params], sort_keys=True).encode()).hexdigest()[:10]
    tag = f"{params['sampling']}{params['num_frames']}"
    if params["sampling"] == "dense":
        tag += f"x{params['frame_interval']}"
    return Path(cache_dir) / f"{root.name}-set{params['set']}-{params['split']}-{tag}-s{params['short_side']}-{h}"


def dataset_signature(root: Path, entries) -> str:
    """Hash of the selected manifest rows and each video file's size and modification time."""
    h = hashlib.sha256()
    for e in entries:
        try:
            st = os.stat(root / e.path)
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        h.update(f"{e.path}\t{e.set}\t{e.split}\t{e.coarse_id}\t{e.fine_id}\t{stamp}\n".encode())
    return h.hexdigest()


def _select(root, set_id, split):
    ds = open_dataset(root)
    entries = ds.select(int(set_id), split)
    if not entries:
        raise TabenchError(f"{root}: no {split} videos in set {set_id}")
    return ds.root, entries


class ClipCache:
    """A complete cache, opened for reading. Memory maps are opened lazily in each process."""

    def __init__(self, folder: Path, index: dict, records: list[dict]):
        self.folder, self.index, self.records = Path(folder), index, records
        self._maps: dict[int, np.memmap] = {}

    def __len__(self) -> int:
        return len(self.records)

    def __getstate__(self):  # DataLoader workers re-open the maps instead of receiving copies
        return {"folder": self.folder, "index": self.index, "records": self.records, "_maps": {}}

    def get(self, i: int) -> tuple[np.ndarray, np.ndarray, int]:
        """(positions, frames uint8 (K, H, W, 3) memory-mapped, num_frames) of video i; raises TabenchError
        naming the file when the video could not be decoded at build time."""
        rec = self.records[i]
        if "error" in rec:
            raise TabenchError(rec["error"])
        c = i // self.index["chunk_size"]
        mm = self._maps.get(c)
        if mm is None:
            mm = self._maps[c] = np.memmap(self.folder / f"chunk_{c:05d}.u8", dtype=np.uint8, mode="r")
        shape = tuple(rec["shape"])
        frames = mm[rec["offset"]: rec["offset"] + int(np.prod(shape))].reshape(shape)
        return np.asarray(rec["positions"], dtype=np.int64), frames, int(rec["num_frames"])

    @property
    def errors(self) -> list[tuple[str, str]]:
        return [(r["path"], r["error"]) for r in self.records if "error" in r]


def open_clip_cache(root, cache_dir, set_id: int, split: str, num_frames: int, size: int, sampling: str = "segment",
                    frame_interval: int = 2, frames_per_segment: int = DEFAULT_FRAMES_PER_SEGMENT) -> ClipCache | None:
    """The cache for these parameters if it is complete and matches the dataset as it is now, else None."""
    params = _params(set_id, split, num_frames, size, sampling, frame_interval, frames_per_segment)
    root, entries = _select(root, set_id, split)
    folder = cache_folder(root, cache_dir, params)
    try:
        index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if index.get("params") != params or index.get("signature") != dataset_signature(root, entries):
        return None
    records: list[dict] = []
    for c in range(index["num_chunks"]):
        try:
            chunk = json.loads((folder / f"chunk_{c:05d}.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        records += chunk["records"]
    if [r["path"] for r in records] != [e.path for e in entries]:
        return None
    return ClipCache(folder, index, records)


def _build_chunk(job: dict) -> int:
    """Decode one chunk of videos into chunk_NNNNN.{u8,json} (runs in a worker process)."""
    folder, c, p = Path(job["folder"]), job["chunk"], job["params"]
    records, offset = [], 0
    with atomic_path(folder / f"chunk_{c:05d}.u8", suffix=".u8") as tmp:
        with open(tmp, "wb") as f:
            for rel in job["paths"]:
                try:
                    with VideoReader(Path(job["root"]) / rel, threads=None) as r:
                        L = r.info.num_frames
                        pos = cache_positions(L, p["sampling"], p["num_frames"], p.get("frame_interval", 1),
                                              p.get("frames_per_segment", DEFAULT_FRAMES_PER_SEGMENT))
                        frames = r.read(pos, short_side=p["short_side"])
                except TabenchError as e:
                    records.append({"path": rel, "error": str(e).splitlines()[0]})
                    continue
                f.write(frames.tobytes())
                records.append({"path": rel, "num_frames": int(L), "positions": pos.tolist(), "offset": offset,
                                "shape": list(frames.shape)})
                offset += frames.nbytes
    atomic_write_json(folder / f"chunk_{c:05d}.json", {"signature": job["signature"], "records": records})
    return len(records)


def build_clip_cache(root, set_id: int, split: str, num_frames: int, size: int, sampling: str = "segment",
                     frame_interval: int = 2, cache_dir=None, workers: int | None = None,
                     frames_per_segment: int = DEFAULT_FRAMES_PER_SEGMENT, chunk_size: int = 32,
                     progress: bool = True) -> Path:
    """Build (or finish, or refresh) the cache of one (set, split) for these sampling and size parameters;
    returns its folder. Cheap when the cache is already complete and current. Parallel over videos."""
    if cache_dir is None:
        raise TabenchError("build_clip_cache needs a cache_dir")
    if sampling == "segment" and frames_per_segment % 2 == 0:
        raise TabenchError("frames_per_segment must be odd, so that test-time frames are stored exactly")
    params = _params(set_id, split, num_frames, size, sampling, frame_interval, frames_per_segment)
    root, entries = _select(root, set_id, split)
    folder = cache_folder(root, cache_dir, params)
    sig = dataset_signature(root, entries)
    try:
        old = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        old = None
    if old is not None and old.get("params") == params and old.get("signature") == sig \
            and old.get("chunk_size") == chunk_size:
        if open_clip_cache(root, cache_dir, set_id, split, num_frames, size, sampling, frame_interval,
                           frames_per_segment) is not None:
            return folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.json").unlink(missing_ok=True)
    paths = [e.path for e in entries]
    n_chunks = (len(paths) + chunk_size - 1) // chunk_size
    jobs = []
    for c in range(n_chunks):
        part = paths[c * chunk_size:(c + 1) * chunk_size]
        try:
            done = json.loads((folder / f"chunk_{c:05d}.json").read_text(encoding="utf-8"))
            if done.get("signature") == sig and [r["path"] for r in done["records"]] == part \
                    and (folder / f"chunk_{c:05d}.u8").is_file():
                continue  # finished by an earlier, interrupted build
        except (OSError, json.JSONDecodeError, KeyError):
            pass
        jobs.append({"folder": str(folder), "chunk": c, "params": params, "root": str(root), "paths": part,
                     "signature": sig})
    for stale in folder.glob("chunk_*"):  # chunks of a larger, older version of the dataset
        try:
            if int(stale.name[6:11]) >= n_chunks:
                stale.unlink()
        except ValueError:
            pass
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    bar = None
    if progress and jobs:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc=f"caching {folder.name}", unit="chunk")
    if workers == 1:
        for job in jobs:
            _build_chunk(job)
            if bar:
                bar.update()
    else:
        # spawn: safe from a parent that already runs threads (torch, CUDA)
        with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for _ in pool.map(_build_chunk, jobs):
                if bar:
                    bar.update()
    if bar:
        bar.close()
    atomic_write_json(folder / "index.json", {"params": params, "signature": sig, "root": str(root),
                                              "num_videos": len(paths), "chunk_size": chunk_size,
                                              "num_chunks": n_chunks})
    return folder
