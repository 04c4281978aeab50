"""`tabench demo`: the whole path from nothing to a results table, sized for a 2-core CPU (<= 10 minutes).

1. Generate a small Syn-TA into OUT/data (all 100 fine classes, a few short, small videos each). Realistic
   backgrounds when the Debian wallpaper fetch works, plain ones otherwise (with a message).
2. Run the coarse protocol (`tabench.protocol.run_benchmark`) with the default CPU model into OUT/run
   (OUT/run-fine for `--level fine`, with the default video-text model).
3. Print Known / Unknown / Dabs / Drel / HM and write OUT/report.md (the `tabench report` tables).

Everything is resumable: generated videos are reused, finished directions are skipped, an interrupted training
continues from its last checkpoint. `--quick` is a much smaller variant (a few coarse classes, one epoch) that
checks the path end to end; its numbers mean little.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from tabench import TabenchError
from tabench.io import atomic_write_json, atomic_write_text

# Syn-TA generation: `tabench synth generate` options.
SYNTH = {
    "full": {"train_per_class": 30, "val_per_class": 4, "size": 64, "frames": "16", "classes": None},
    "quick": {"train_per_class": 2, "val_per_class": 1, "size": 48, "frames": "16",
              "classes": "falling,rising,expanding,shrinking"},
}
# Training config overrides (tabench.config keys) on top of the defaults.
TRAIN = {
    "full": {"frames": 8, "size": 48, "crop": "full", "epochs": 8, "batch_size": 16, "lr": 3e-3,
             "weight_decay": 0.05, "warmup_epochs": 1.0, "label_smoothing": 0.1, "workers": 1, "threads": 2,
             "val_every": 0, "cache_dir": "cache", "tensorboard": True},
    "quick": {"frames": 4, "size": 40, "epochs": 1, "batch_size": 4, "lr": 2e-3, "warmup_epochs": 0.0,
              "workers": 0, "val_every": 0, "tensorboard": False},
}
SEED = 0


def _synth_argv(data: Path, opts: dict, background: str, workers: int) -> list[str]:
    argv = ["synth", "generate", "--out", str(data), "--train-per-class", str(opts["train_per_class"]),
            "--val-per-class", str(opts["val_per_class"]), "--size", str(opts["size"]),
            "--frames", str(opts["frames"]), "--views", "elevated,front", "--seed", str(SEED),
            "--workers", str(workers), "--background", background]
    if opts.get("classes"):
        argv += ["--classes", opts["classes"]]
    return argv


def _run_command(argv: list[str]) -> None:
    """Run a tabench subcommand in-process, letting TabenchError through (cli.main would swallow it)."""
    from tabench.cli import build_parser

    args = build_parser().parse_args(argv)
    rc = args.func(args)
    if rc:
        raise TabenchError(f"`tabench {' '.join(argv[:2])}` failed with exit code {rc}")


def generate_data(data: Path, variant: str, workers: int, background: str | None = None) -> dict:
    """Generate (or reuse) the demo's Syn-TA. Returns the generation record written to DATA/demo.json."""
    opts = SYNTH[variant]
    marker = data / "demo.json"
    if marker.is_file():
        rec = json.loads(marker.read_text(encoding="utf-8"))
        if rec.get("synth") == opts and (background is None or rec.get("background") == background):
            print(f"[demo] reusing the Syn-TA in {data} ({rec['background']} backgrounds)", flush=True)
            return rec
    t0 = time.time()
    choices = [background] if background else ["realistic", "plain"]
    # Resuming an interrupted generation must keep its backgrounds.
    partial = data / "demo.partial.json"
    if background is None and partial.is_file():
        choices = [json.loads(partial.read_text(encoding="utf-8"))["background"]]
    last_error = None
    for bg in choices:
        print(f"[demo] generating a small Syn-TA into {data} ({bg} backgrounds)", flush=True)
        atomic_write_json(partial, {"background": bg})
        try:
            _run_command(_synth_argv(data, opts, bg, workers))
        except TabenchError as e:
            last_error = e
            if bg == "realistic" and len(choices) > 1:
                print(f"[demo] realistic backgrounds are unavailable ({e}); falling back to plain backgrounds",
                      flush=True)
                continue
            raise
        rec = {"synth": opts, "background": bg, "seed": SEED, "generate_s": round(time.time() - t0, 1)}
        atomic_write_json(marker, rec)
        partial.unlink(missing_ok=True)
        return rec
    raise TabenchError(f"could not generate the demo data: {last_error}")


def demo_config(variant: str, level: str, threads: int | None = None) -> dict:
    from tabench import config

    cfg = config.merge(config.default_config(), TRAIN[variant], source="demo")
    if level == "fine":
        try:
            from tabench.models.videotext import DEFAULT_VIDEO_TEXT_MODEL
        except ImportError:
            raise TabenchError("--level fine needs a video-text model, and none is registered "
                               "(tabench.models.videotext is missing)") from None
        cfg["model"] = DEFAULT_VIDEO_TEXT_MODEL
    else:
        from tabench.models import DEFAULT_CPU_MODEL

        cfg["model"] = DEFAULT_CPU_MODEL
    if threads:
        cfg["threads"] = threads
    return cfg


def write_report(run: Path, out: Path) -> Path:
    from tabench.report import build_tables, render

    text = ("# tabench demo report\n\n" + render(build_tables([run]), "markdown") + "\n"
            + render(build_tables([run], per_set=True), "markdown"))
    atomic_write_text(out, text)
    return out


def run_demo(out: str | Path = "demo", quick: bool = False, level: str = "coarse", workers: int = 2,
             background: str | None = None) -> dict:
    from tabench.protocol import run_benchmark

    out = Path(out)
    variant = "quick" if quick else "full"
    t0 = time.time()
    cfg = demo_config(variant, level)  # fail early, before generating, if the model is missing
    gen = generate_data(out / "data", variant, workers, background)
    t_gen = time.time() - t0
    run = out / ("run" if level == "coarse" else "run-fine")
    print(f"[demo] running the {level} protocol with {cfg['model']} into {run}", flush=True)
    res = run_benchmark(cfg, out / "data", run, level=level)
    report = write_report(run, out / ("report.md" if level == "coarse" else "report-fine.md"))
    total = time.time() - t0
    print(f"[demo] report: {report}")
    print(f"[demo] done in {total / 60:.1f} min (data {t_gen:.0f} s, protocol {total - t_gen:.0f} s); "
          f"chance is {chance_percent(out / 'data', level):.1f}% (the classes of the videos used) "
          f"({gen['background']} backgrounds)", flush=True)
    atomic_write_json(run / "demo_timing.json", {"total_s": round(total, 1), "data_s": round(t_gen, 1),
                                                  "variant": variant, "background": gen["background"]})
    return res


def _labels(data: Path, level: str) -> list[str]:
    from tabench.data.format import read_taxonomy

    return read_taxonomy(data).labels(1, level)


def chance_percent(data: Path, level: str) -> float:
    """Chance accuracy of the known-context test: one over the classes that Set 1 val's videos have (a quick
    demo uses a few coarse classes, not all 20)."""
    from tabench.data.format import open_dataset

    ds = open_dataset(data)
    used = {e.label(level) for e in ds.select(1, "val")}
    return 100.0 / max(1, len(used))
