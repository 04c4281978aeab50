"""Activation memory of Rev-MViT-B with reversible back-propagation, against the same model with plain autograd
and against MViTv2-S (the paper's two multiscale transformers), written as a markdown table into
benchmarks/README.md under "## Rev-MViT activation memory".

    python benchmarks/memory.py                              # 16x224 (paper input) and 8x112, batch 1
    python benchmarks/memory.py --inputs 8x112 --batch 2 --no-write
    python benchmarks/memory.py --speed                      # seconds per step, reversible vs plain (prints only)

Two measures per training step (forward + backward, one fresh process per model so the peaks do not mix):
- saved activations: the bytes autograd holds for the backward at the end of the forward, counted with
  `torch.autograd.graph.saved_tensors_hooks` (each storage once, parameters excluded). This is exactly what
  reversible back-propagation removes, and it does not depend on the allocator or the device.
- peak RSS growth: on a second step (gradient buffers already allocated by a first one), the highest resident
  memory a sampling thread sees (/proc/self/statm, every 0.5 ms) minus the resident memory before the step, with
  glibc returning large blocks to the system on free (MALLOC_MMAP_THRESHOLD_): activations plus the operators'
  temporaries, what the step really needs on this CPU.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import threading
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SECTION = "## Rev-MViT activation memory"
CASES = {  # label -> (model, builder kwargs)
    "mvitv2_s": ("mvitv2_s", {}),
    "rev_mvit_b (reversible backprop)": ("rev_mvit_b", {"reversible_backprop": True}),
    "rev_mvit_b (plain autograd)": ("rev_mvit_b", {"reversible_backprop": False}),
}


def measure_one(model_name: str, kwargs: dict, frames: int, size: int, batch: int) -> dict:
    """One training step of one model in this process: saved-activation bytes, peak RSS growth, seconds."""
    import torch

    from tabench.models import create_model

    torch.manual_seed(0)
    model = create_model(model_name, num_classes=400, **kwargs).train()
    x = torch.randn(batch, 3, frames, size, size)
    y = torch.randint(0, 400, (batch,))
    param_ptrs = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t):
        s = t.untyped_storage()
        if s.data_ptr() not in param_ptrs:
            seen[s.data_ptr()] = s.nbytes()
        return t

    page = os.sysconf("SC_PAGE_SIZE")

    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page

    torch.nn.functional.cross_entropy(model(x), y).backward()  # first step: lazy initialisation, gradient buffers
    for p in model.parameters():
        if p.grad is not None:
            p.grad.zero_()
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.0005)

    before = rss()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = torch.nn.functional.cross_entropy(model(x), y)
    saved = sum(seen.values())
    loss.backward()
    seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    grads = sum(p.grad is not None for p in model.parameters())
    return {"saved_mib": saved / 2 ** 20, "peak_rss_growth_mib": (peak[0] - before) / 2 ** 20, "seconds": seconds,
            "params_with_grad": grads, "params": len(list(model.parameters()))}


def run_case(label: str, frames: int, size: int, batch: int, threads: int) -> dict:
    model_name, kwargs = CASES[label]
    code = (f"import json, torch; torch.set_num_threads({threads}); import benchmarks.memory as m; "
            f"print(json.dumps(m.measure_one({model_name!r}, {kwargs!r}, {frames}, {size}, {batch})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
                              "MALLOC_MMAP_THRESHOLD_": "131072"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    lines = ["| input (batch x frames x size) | model | saved activations (MiB) | vs mvitv2_s | peak RSS growth (MiB) "
             "| s / step |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['input']} | {r['label']} | {r['saved_mib']:.0f} | {r['ratio']:.2f}x | "
                     f"{r['peak_rss_growth_mib']:.0f} | {r['seconds']:.1f} |")
    return "\n".join(lines)


def write_readme(rows: list[dict], threads: int) -> None:
    """Replace (or append) the README section with these rows."""
    import torch

    from tabench.io import atomic_write_text

    readme = Path(__file__).resolve().parent / "README.md"
    body = (f"{SECTION}\n\nMeasured with `python benchmarks/memory.py` ({platform.machine()} CPU, {threads} threads, "
            f"torch {torch.__version__}, {time.strftime('%Y-%m-%d')}, a machine shared with other jobs, so the s / step "
            "column is noisy); one training step (forward + backward) per model in a fresh process, 400 classes, "
            "after one warm-up step.\n\n" + table(rows) + "\n\n"
            "Saved activations are what autograd keeps for the backward at the end of the forward (each storage "
            "once, parameters excluded). With reversible back-propagation Rev-MViT-B keeps only each run of "
            "reversible blocks' output streams and the inputs of its three non-reversible stage-transition blocks "
            "(most of what remains: the first one works at 56 x 56 tokens per frame); the backward rebuilds the "
            "rest from the outputs, running F and G a second time. Gradients are those of plain autograd "
            "(tests/test_zoo.py). Peak RSS growth is the process's real peak during the step: activations plus the "
            "operators' temporaries, and for the reversible backward the gradients of one run's parameters, which "
            "its autograd function returns together (about 100 MiB for Rev-MViT-B's longest run; it dominates at "
            "small inputs only).\n")
    old = readme.read_text()
    pat = re.compile(re.escape(SECTION) + r".*?(?=\n## |\Z)", re.S)
    new = pat.sub(lambda m: body.rstrip("\n"), old) if SECTION in old else old.rstrip("\n") + "\n\n" + body
    atomic_write_text(readme, new if new.endswith("\n") else new + "\n")


def speed(frames: int = 8, size: int = 112, batch: int = 4, steps: int = 4, threads: int = 2) -> dict:
    """Seconds per forward + backward of rev_mvit_b with and without reversible back-propagation, the two
    interleaved step by step (after one warm-up step each) so a change of machine load hits both alike."""
    import torch

    from tabench.models import create_model

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    models = {r: create_model("rev_mvit_b", num_classes=10, reversible_backprop=r).train() for r in (False, True)}
    x, y = torch.randn(batch, 3, frames, size, size), torch.randint(0, 10, (batch,))

    def step(m):
        m.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(m(x), y).backward()

    for m in models.values():
        step(m)
    times = {False: [], True: []}
    for _ in range(steps):
        for r, m in models.items():
            t0 = time.perf_counter()
            step(m)
            times[r].append(time.perf_counter() - t0)
    return {"plain": times[False], "reversible": times[True]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", nargs="+", default=["16x224", "8x112"], help="FRAMESxSIZE")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/README.md as it is")
    ap.add_argument("--speed", action="store_true", help="time reversible vs plain autograd steps instead (prints only)")
    args = ap.parse_args(argv)
    if args.speed:
        r = speed(threads=args.threads)
        for k, v in r.items():
            print(f"{k}: {', '.join(f'{s:.1f}' for s in v)} s per step (fastest {min(v):.1f})")
        print(f"reversible / plain, fastest steps: {min(r['reversible']) / min(r['plain']):.2f}x")
        return 0
    rows = []
    for spec in args.inputs:
        frames, size = (int(v) for v in spec.lower().split("x"))
        base = None
        for label in CASES:
            r = run_case(label, frames, size, args.batch, args.threads)
            base = base or r["saved_mib"]
            r.update(label=label, input=f"{args.batch} x {frames} x {size}", ratio=r["saved_mib"] / base)
            rows.append(r)
            print(json.dumps(r), flush=True)
    print(table(rows))
    if not args.no_write:
        write_readme(rows, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
