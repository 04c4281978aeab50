"""Training throughput of every registered unimodal model on this machine's CPU (clips/s for forward + backward +
AdamW step), written as a markdown table into benchmarks/README.md under "## Model throughput (CPU)".

    python benchmarks/models.py                       # all models, batch 4, 2 threads
    python benchmarks/models.py --models r3d_tiny x3d_xs --iters 5 --no-write

CPU-sized models run at their default input; full-size models at their `cpu_frames x cpu_size` (8x112), because
their paper input (e.g. 16x224) takes minutes per step on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from tabench.io import atomic_write_text  # noqa: E402
from tabench.models import DEFAULT_CPU_MODEL, create_model, list_models, model_info  # noqa: E402

SECTION = "## Model throughput (CPU)"


def measure(name: str, batch: int, iters: int, warmup: int = 1, num_classes: int = 10) -> dict:
    info = model_info(name)
    torch.manual_seed(0)
    model = create_model(name, num_classes=num_classes).train()
    t, s = info.cpu_frames, info.cpu_size
    x = torch.randn(batch, 3, t, s, s)
    y = torch.randint(0, num_classes, (batch,))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(iters):
        step()
    sec = (time.perf_counter() - start) / iters
    return dict(name=name, frames=t, size=s, batch=batch, sec_per_step=sec, clips_per_s=batch / sec,
                params=info.params, trainable=sum(p.numel() for p in params), cpu_sized=info.cpu_sized,
                default=f"{info.default_frames}x{info.default_size}")


def table(rows: list[dict]) -> str:
    out = ["| model | input (T x H=W) | paper input | params (400 cls) | trainable | s/step | clips/s |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        mark = " (CPU default)" if r["name"] == DEFAULT_CPU_MODEL else (" (CPU-sized)" if r["cpu_sized"] else "")
        out.append(f"| `{r['name']}`{mark} | {r['frames']} x {r['size']} | {r['default']} | {r['params'] / 1e6:.2f}M "
                   f"| {r['trainable'] / 1e6:.2f}M | {r['sec_per_step']:.2f} | {r['clips_per_s']:.2f} |")
    return "\n".join(out)


def write_section(readme: Path, body: str) -> None:
    text = readme.read_text(encoding="utf-8") if readme.exists() else "# Benchmarks\n"
    section = f"{SECTION}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    atomic_write_text(readme, text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=None, help="model names (default: all registered)")
    ap.add_argument("--batch", type=int, default=4, help="clips per step")
    ap.add_argument("--iters", type=int, default=3, help="timed steps per model (after 1 warm-up step)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--readme", default=str(Path(__file__).with_name("README.md")), help="README to update")
    ap.add_argument("--no-write", action="store_true", help="print the table only")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    # unimodal models only: video-text models (tabench.models.videotext) need a label space of texts
    names = args.models or [n for n in list_models() if not model_info(n).module.startswith("tabench.models.videotext")]
    load_before = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    rows = []
    for n in names:
        r = measure(n, args.batch, args.iters)
        print(f"{n:18s} {r['frames']}x{r['size']:<4d} {r['sec_per_step']:7.2f} s/step {r['clips_per_s']:7.2f} clips/s",
              flush=True)
        rows.append(r)
    cmd = "python benchmarks/models.py " + " ".join(argv if argv is not None else sys.argv[1:])
    body = (f"Training throughput: forward + backward + AdamW step on random clips, batch {args.batch}, "
            f"{args.iters} timed steps after 1 warm-up, `torch.set_num_threads({args.threads})`.\n"
            f"Machine: {os.cpu_count()}-core CPU ({platform.processor() or platform.machine()}), "
            f"torch {torch.__version__}; load average before the run: {load_before}.\n"
            f"CPU-sized models run at their default input; full-size models at a reduced 8 x 112 input "
            f"(their paper input is in the third column).\n\n"
            f"Made with: `{cmd.strip()}`\n\n{table(rows)}\n\n"
            f"Default CPU model: `{DEFAULT_CPU_MODEL}` (`tabench.models.DEFAULT_CPU_MODEL`), chosen because it learns "
            f"Syn-TA from scratch within the demo's budget where `r3d_tiny` stays at chance "
            f"(docs/results.md, \"Choosing the default CPU model\").\n")
    print(table(rows))
    if not args.no_write:
        write_section(Path(args.readme), body)
        print(f"wrote {args.readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
