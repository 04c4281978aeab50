"""Benchmark of `tabench synth generate`: frames/s and videos/s per worker, split into stages, and the time
full Syn-TA (10,000 videos, ~105 frames on average) would take on this machine.

    python benchmarks/synth.py --sizes 112,224 --videos 40 --workers 2 [--write-readme] [--profile]

Stages per video: motion (the motion program and the video's plan), render (GL, readback, compositing),
encode (H.264 through PyAV, including the mp4 write), write (sidecar JSON and annotations). The per-worker
numbers come from one process rendering videos of classes spread over both sets (the paper's clip-length
distribution, realistic backgrounds unless --background plain); the end-to-end number runs the real
generator with --workers N and counts wall time.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tabench.synth import generate as G  # noqa: E402
from tabench.synth.backgrounds import load_pools  # noqa: E402
from tabench.taxonomy import load  # noqa: E402

FULL_VIDEOS = 10_000
README = Path(__file__).with_name("README.md")
SECTION = "## Syn-TA generation"
NOTES = (
    "Render is llvmpipe work: vertex shading and binning of a few draw calls per frame on the calling thread, "
    "rasterising the 2x2-supersampled frame atlas, one downsample-and-composite pass and one readback per batch "
    "of frames. Encode is x264 (veryfast, CRF 23, one thread per worker) including swscale's RGB to YUV "
    "conversion; write is the sidecar JSON. Done to get here (cProfile-guided): the static background is "
    "rendered once per clip and composited on the GPU; frames are drawn in batches into one atlas read back "
    "with one call; curved meshes are indexed and coarser at small sizes; 2x2 supersampling replaced 4x MSAA "
    "(llvmpipe's multisample clear and resolve alone cost ~0.6 ms per frame); sidecar boxes are projected in one "
    "numpy call per clip. Left: TABENCH_GL_SUPERSAMPLE=1 skips anti-aliasing; a faster x264 preset trades size "
    "for speed.")


def sample_jobs(tax, n: int) -> list[G.Job]:
    """n jobs cycling over all 100 classes (both sets), alternating views, train indices."""
    fines = G.select_classes(tax, None)
    return [G.Job(fines[(k * 37) % len(fines)], "train", k // len(fines) * 2 + k % 2) for k in range(n)]


def per_worker(size: int, n: int, background: str, profile: bool) -> dict:
    tax = load("syn-ta")
    opts = G.Options(out="", size=size, background=background)
    pools = load_pools(background)
    jobs = sample_jobs(tax, n)
    tmp = Path(tempfile.mkdtemp(prefix="tabench-bench-"))
    try:
        G.make_video(tax, jobs[0], opts, pools, tmp)  # warm-up: GL context, shader compilation
        from tabench.synth.render_gl import get_renderer

        for s_id in (1, 2):  # each worker loads every photo once per run; keep that out of the rate
            for im in pools.pool(s_id):
                get_renderer()._photo(im.file, G.frame_size(size)[0])
        total = G.Timing()
        prof = cProfile.Profile() if profile else None
        c0, t0 = time.process_time(), time.perf_counter()
        if prof:
            prof.enable()
        for job in jobs:
            total.add(G.make_video(tax, job, opts, pools, tmp))
        if prof:
            prof.disable()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if prof:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(15)
        print(s.getvalue(), file=sys.stderr)
    return {"size": size, "videos": total.videos, "frames": total.frames, "wall": wall, "cpu": cpu,
            **{k: getattr(total, k) for k in ("motion", "render", "encode", "write", "cpu_motion", "cpu_render",
                                               "cpu_encode", "cpu_write")}}


def end_to_end(size: int, n_per_class: int, workers: int, background: str, classes: str | None) -> dict:
    out = Path(tempfile.mkdtemp(prefix="tabench-bench-e2e-"))
    try:
        opts = G.Options(out=str(out), train_per_class=n_per_class, val_per_class=0, size=size, workers=workers,
                         background=background, classes=tuple(classes.split(",")) if classes else None)
        t0 = time.perf_counter()
        s = G.generate(opts, progress=False)
        wall = time.perf_counter() - t0
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"size": size, "workers": workers, "videos": s.rendered, "frames": s.timing.frames, "wall": wall}


def fmt(x: float, nd: int = 1) -> str:
    return f"{x:.{nd}f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="112,224")
    ap.add_argument("--videos", type=int, default=40, help="videos per size for the per-worker numbers")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="workers for the end-to-end run")
    ap.add_argument("--e2e-per-class", type=int, default=1,
                    help="train videos per class in the end-to-end run (0 skips it); all 100 classes")
    ap.add_argument("--background", choices=("realistic", "plain"), default="realistic")
    ap.add_argument("--profile", action="store_true", help="cProfile the per-worker loop (printed to stderr)")
    ap.add_argument("--write-readme", action="store_true", help=f"replace the '{SECTION}' section of {README.name}")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    mean_frames = (G.FRAMES_MIN + G.FRAMES_EXTRA_MEAN)  # the default distribution's mean (before the 250 cap)

    rows = [per_worker(s, args.videos, args.background, args.profile) for s in sizes]
    e2e = [end_to_end(s, args.e2e_per_class, args.workers, args.background, None) for s in sizes] \
        if args.e2e_per_class > 0 else []

    lines = [SECTION, "",
             f"Command: `python benchmarks/synth.py --sizes {args.sizes} --videos {args.videos} --workers "
             f"{args.workers} --e2e-per-class {args.e2e_per_class} --background {args.background}"
             f"{' --write-readme' if args.write_readme else ''}`", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Mesa llvmpipe, "
             f"Python {platform.python_version()}. Realistic background = Debian photos from the cache.", "",
             "Per worker (one process, videos of classes spread over both sets, the paper's clip lengths). The "
             "wall-clock rates use more than one core where llvmpipe's GL threads run in parallel, and understate on a "
             "machine shared with other jobs, so the table also gives CPU time per frame by stage (process CPU time, "
             "GL threads included):", "",
             "| size | videos | frames | wall frames/s | wall videos/s | CPU ms/frame: motion | render | encode "
             "| write | total | frames/s per free core |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        f = r["frames"]
        cpu_ms = [r[f"cpu_{k}"] / f * 1e3 for k in ("motion", "render", "encode", "write")]
        lines.append(f"| {r['size']} | {r['videos']} | {f} | {fmt(f / r['wall'], 0)} | {fmt(r['videos'] / r['wall'], 2)} "
                     + "".join(f"| {fmt(c, 2)} " for c in cpu_ms) + f"| {fmt(sum(cpu_ms), 2)} "
                     f"| {fmt(1e3 / sum(cpu_ms), 0)} |")
    lines += ["", f"Extrapolated full Syn-TA ({FULL_VIDEOS:,} videos x {mean_frames:.0f} frames on average) on "
              f"{args.workers} workers:", "", "| size | from | frames/s | full Syn-TA |", "|---|---|---|---|"]
    for r in rows:
        cpu_fps = r["frames"] / (r["cpu_motion"] + r["cpu_render"] + r["cpu_encode"] + r["cpu_write"]) * args.workers
        wall_fps = r["frames"] / r["wall"] * args.workers
        lines.append(f"| {r['size']} | CPU time per frame, {args.workers} free cores | {fmt(cpu_fps, 0)} "
                     f"| {fmt(FULL_VIDEOS * mean_frames / cpu_fps / 60)} min |")
        lines.append(f"| {r['size']} | per-worker wall rate x {args.workers} | {fmt(wall_fps, 0)} "
                     f"| {fmt(FULL_VIDEOS * mean_frames / wall_fps / 60)} min |")
    for e in e2e:
        fps = e["frames"] / e["wall"]
        lines.append(f"| {e['size']} | `generate --workers {e['workers']}`, {e['videos']} videos, wall clock "
                     f"| {fmt(fps, 0)} | {fmt(FULL_VIDEOS * mean_frames / fps / 60)} min |")
    lines += ["", f"Load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
              f"(on {os.cpu_count()} cores).", ""]
    for r in rows:
        cpu = {k: r[f"cpu_{k}"] for k in ("render", "encode", "write", "motion")}
        total = sum(cpu.values())
        lines.append(f"Where the CPU time goes at {r['size']} px: " + ", ".join(
            f"{k} {100 * v / total:.0f}%" for k, v in cpu.items()) + ".")
    lines += ["", NOTES]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write_readme:
        _write_section(text)
    return 0


def _write_section(text: str) -> None:
    """Replace (or append) only this benchmark's section; other sections belong to other benchmarks."""
    old = README.read_text(encoding="utf-8") if README.is_file() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda m: text + "\n", old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + text
    from tabench.io import atomic_write_text

    atomic_write_text(README, new)


if __name__ == "__main__":
    raise SystemExit(main())
