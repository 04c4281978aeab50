"""Data-loading throughput next to the training speed of the default CPU model.

Measures, for 8 and 16 frames at 112 and 224 px (segment sampling, training transforms):
  decode    clips/s of one worker (ClipDataset.__getitem__ in this process: decode, crop, normalise)
  cache     the same from the pre-decoded clip cache (and the time to build it)
  loader    clips/s delivered in batches by a DataLoader with --loader-workers workers (pickling included)
  model     clips/s the default CPU model trains at (forward + backward + SGD step, batch --batch)
on ~50 Syn-TA-like mp4s (105 frames, 25 fps, a textured background and a moving object) written here with
PyAV at 112 and 224 px short side. Run:

    python benchmarks/data.py                     # writes the videos to a temporary folder
    python benchmarks/data.py --workdir /tmp/tabench-bench --json results.json

The figures in benchmarks/README.md ("Data loading") come from this script.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tabench.data.cache import build_clip_cache  # noqa: E402
from tabench.data.clips import ClipDataset  # noqa: E402
from tabench.data.format import VideoEntry, write_dataset  # noqa: E402
from tabench.data.video import write_video  # noqa: E402
from tabench.taxonomy import load  # noqa: E402


def synth_frames(rng, h, w, t=105):
    """A blurred random texture panning slowly, with a red square moving across: compresses like real video."""
    bg = torch.from_numpy(rng.integers(0, 256, (3, 2 * h, 2 * w), dtype=np.uint8)).float()[None]
    bg = F.avg_pool2d(bg, 7, 1, 3)[0].permute(1, 2, 0).byte().numpy()
    out = np.empty((t, h, w, 3), np.uint8)
    for k in range(t):
        out[k] = bg[k // 3:k // 3 + h, k // 2:k // 2 + w]
        cy, cx = int(h / 2 + h / 3 * np.sin(k / 10 + rng.random())), int(k * w / t)
        out[k, max(0, cy - h // 8):cy + h // 8, max(0, cx - w // 8):cx + w // 8] = rng.integers(0, 256, 3)
    return out


def make_dataset(root: Path, short_side: int, n: int) -> Path:
    if (root / "manifest.csv").is_file():
        return root
    tax = load("syn-ta")
    fine = tax.fine_of_set(1)
    rng = np.random.default_rng(short_side)
    w = int(round(short_side * 4 / 3 / 2)) * 2
    entries = []
    for i in range(n):
        f = fine[i % len(fine)]
        rel = f"videos/{f.slug}/{i:04d}.mp4"
        write_video(root / rel, synth_frames(rng, short_side, w), fps=25, options={"crf": "23"})
        entries.append(VideoEntry(rel, 1, "train", f.coarse_id, f.id))
    write_dataset(root, tax, entries)
    return root


def rate(fn, items: int, repeats: int = 2) -> float:
    """Best clips/s over `repeats` runs of fn(items) (the machine may be shared: the best run is the cleanest)."""
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        fn(items)
        best = max(best, items / (time.perf_counter() - t))
    return best


def per_worker(ds, items):
    """One DataLoader worker's work, in this process; like a worker, with one torch thread."""
    def run(k):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for i in range(k):
                ds[i % len(ds)]
        finally:
            torch.set_num_threads(threads)
    return run


def loader(ds, batch, workers):
    def run(k):
        dl = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=False, num_workers=workers,
                                         persistent_workers=False)
        got = 0
        while got < k:
            for b in dl:
                got += b["video"].shape[0]
                if got >= k:
                    break
    return run


def model_rate(name, frames, size, batch, steps=2):
    from tabench.models import create_model

    model = create_model(name, num_classes=20)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 3, frames, size, size)
    y = torch.randint(0, 20, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    step()  # warm-up
    best = float("inf")
    for _ in range(steps):
        t = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t)
    return batch / best, best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default=None, help="where the benchmark videos go (reused when present)")
    ap.add_argument("--videos", type=int, default=50)
    ap.add_argument("--items", type=int, default=50, help="clips per measurement")
    ap.add_argument("--frames", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--sizes", type=int, nargs="+", default=[112, 224])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--loader-workers", type=int, default=2)
    ap.add_argument("--threads", default="adaptive", help="PyAV decoder threading: adaptive (default), AUTO or none")
    ap.add_argument("--model", default=None, help="model to time (default: tabench.models.DEFAULT_CPU_MODEL)")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="tabench-bench-"))
    try:
        from tabench.models import DEFAULT_CPU_MODEL
        model_name = args.model or DEFAULT_CPU_MODEL
    except ImportError:
        model_name = args.model
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"torch threads {torch.get_num_threads()}; videos in {work}")
    rows = []
    for size in args.sizes:
        root = make_dataset(work / f"syn{size}", size, args.videos)
        for frames in args.frames:
            kw = dict(set_id=1, split="train", num_frames=frames, size=size, train=True)
            ds = ClipDataset(root, **kw)
            ds.decode_threads = None if args.threads.lower() == "none" else args.threads
            r_dec = rate(per_worker(ds, args.items), args.items)
            t0 = time.perf_counter()
            build_clip_cache(root, cache_dir=work / "cache", set_id=1, split="train", num_frames=frames, size=size,
                             progress=False)
            t_build = time.perf_counter() - t0
            cds = ClipDataset(root, cache_dir=work / "cache", **kw)
            r_cache = rate(per_worker(cds, args.items), args.items)
            r_load = rate(loader(ds, args.batch, args.loader_workers), args.items, repeats=1)
            r_load_c = rate(loader(cds, args.batch, args.loader_workers), args.items, repeats=1)
            r_model, step = model_rate(model_name, frames, size, args.batch) if model_name else (float("nan"),) * 2
            row = {"frames": frames, "size": size, "decode_clips_s": r_dec, "cache_clips_s": r_cache,
                   "cache_build_s": t_build, "loader_clips_s": r_load, "loader_cache_clips_s": r_load_c,
                   "model": model_name, "model_clips_s": r_model, "model_step_s": step, "batch": args.batch,
                   "decode_vs_model": r_dec / r_model, "cache_vs_model": r_cache / r_model}
            rows.append(row)
            print(f"{frames:>3} frames {size:>3} px | 1 worker: decode {r_dec:6.1f} clips/s, cache {r_cache:6.1f} "
                  f"(build {t_build:4.1f} s) | DataLoader {args.loader_workers} workers: decode {r_load:6.1f}, "
                  f"cache {r_load_c:6.1f} | {model_name} trains {r_model:5.1f} clips/s "
                  f"({step * 1000:.0f} ms/step of {args.batch}) | decode/model {r_dec / r_model:4.1f}x, "
                  f"cache/model {r_cache / r_model:4.1f}x", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
