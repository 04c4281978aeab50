"""The paper's studies as commands, each writing its runs plus a report (built on `synth generate` and `benchmark`,
both resumable, so re-running a study continues where it stopped).

    tabench study background --out S   realistic vs plain Syn-TA, same seed and counts, same model (Tab. 4):
                                       S/data-realistic, S/data-plain, S/runs/<model>-<background>, S/report.md,
                                       S/report/index.html
    tabench study size --data D --models a,b,c --out S
                                       several sizes of one family on one dataset (Fig. 6): S/runs/<model>,
                                       S/report.md, S/report/index.html (size_vs_hm.png)
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from tabench import TabenchError

BACKGROUNDS = ("realistic", "plain")


def _protocol(cfg: dict, data: Path, out: Path, level: str, seeds: Sequence[int] | None) -> Path:
    from tabench.protocol import run_benchmark

    if seeds:
        from tabench.seeds import run_seeds

        run_seeds(cfg, data, out, seeds, level=level)
    else:
        run_benchmark(cfg, data, out, level=level)
    return out


def _report(runs: Sequence[Path], out: Path, title: str) -> Path:
    from tabench.html_report import write_html_report
    from tabench.io import atomic_write_text
    from tabench.report import build_tables, render

    text = (f"# {title}\n\n" + render(build_tables(list(runs)), "markdown") + "\n"
            + render(build_tables(list(runs), per_set=True), "markdown"))
    atomic_write_text(out / "report.md", text)
    write_html_report(runs, out / "report", examples=1)
    return out / "report.md"


def background_study(cfg: dict, out: str | Path, synth: dict, level: str = "coarse",
                     seeds: Sequence[int] | None = None, workers: int = 1, data_seed: int = 0) -> list[Path]:
    """Generate the realistic and the plain Syn-TA with the same seed and counts, run cfg's model on both."""
    from tabench.demo import _run_command

    out = Path(out)
    runs = []
    for bg in BACKGROUNDS:
        data = out / f"data-{bg}"
        argv = ["synth", "generate", "--out", str(data), "--train-per-class", str(synth["train_per_class"]),
                "--val-per-class", str(synth["val_per_class"]), "--size", str(synth["size"]),
                "--frames", str(synth["frames"]), "--seed", str(data_seed), "--workers", str(workers),
                "--background", bg]
        if synth.get("classes"):
            argv += ["--classes", synth["classes"]]
        if not cfg.get("progress", True):  # --no-progress reaches generation too
            argv.append("--no-progress")
        if bg == "realistic" and synth.get("backgrounds"):
            argv += ["--backgrounds", str(synth["backgrounds"])]
        print(f"[study background] Syn-TA with {bg} backgrounds into {data}", flush=True)
        _run_command(argv)  # resumable: finished videos are kept
        runs.append(_protocol(cfg, data, out / "runs" / f"{cfg['model']}-{bg}", level, seeds))
    report = _report(runs, out, f"Background study (Tab. 4): {cfg['model']}, realistic vs plain Syn-TA")
    print(f"[study background] report: {report} and {out / 'report' / 'index.html'}", flush=True)
    return runs


def size_study(cfg: dict, data: str | Path, models: Sequence[str], out: str | Path, level: str = "coarse",
               seeds: Sequence[int] | None = None) -> list[Path]:
    """The protocol for each model (several sizes of one family) on one dataset; size_vs_hm.png in the report."""
    from tabench.models import list_models

    if len(models) < 2:
        raise TabenchError("--models needs at least two models (e.g. sizes of one family)")
    known = set(list_models())
    missing = [m for m in models if m not in known]
    if missing:
        raise TabenchError(f"unknown model(s): {', '.join(missing)} (see `tabench models list`)")
    out = Path(out)
    runs = []
    for m in models:
        print(f"[study size] {m} on {data}", flush=True)
        runs.append(_protocol({**cfg, "model": m}, Path(data), out / "runs" / m, level, seeds))
    report = _report(runs, out, f"Size study (Fig. 6): {', '.join(models)}")
    print(f"[study size] report: {report} and {out / 'report' / 'index.html'}", flush=True)
    return runs
