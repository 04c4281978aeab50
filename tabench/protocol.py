"""The transfer protocol runner behind `tabench benchmark` (paper Sec. 3.4).

For k in (1, 2): train on Set k (train split; Set k val is the validation set), then evaluate
  known   = Set k val,           in Set k's label space,
  unknown = the other set's val, in the other set's label space,
and write RUN/predictions/train{k}_{known,unknown}.csv; finally RUN/results.json (`tabench.results`).

At the coarse level both sets share the 20/41/26 coarse classes. At the fine level the sets have disjoint fine
classes, so the unknown direction is zero-shot: a video-text model gets the other set's class captions through
`set_class_texts` (a unimodal classifier cannot do this, and is refused).

Which weights are evaluated: by default the final epoch's (`eval_checkpoint: last`). Known-context accuracy is
measured on Set k val, which is also the validation set, so picking the best-by-validation checkpoint would tune on
the known test data and flatter Known (and so Dabs/Drel); the final checkpoint treats known and unknown alike.
`eval_checkpoint: best` is available for comparison with setups that do select on validation.

Known accuracy is computed once per direction: the final (or best) checkpoint carries the predictions of its
validation on Set k val, which are the known-context predictions (`evaluate_direction`).

Resumable: a direction is finished when both its prediction files exist and is then skipped; an unfinished
direction continues its training from RUN/train{k}/last.pt.
"""
from __future__ import annotations

import time
from pathlib import Path

import yaml

from tabench import TabenchError
from tabench.io import atomic_write_json
from tabench.results import predictions_path, write_predictions, write_results, Prediction

TASKS = ("classification", "retrieval")
# Seed 003's two text conditions for motion-description retrieval: object descriptions and masked ones.
RETRIEVAL_CONDITIONS = ("motion", "motion_masked")
# Config keys that change how a run computes, not what it computes: a resumed run may differ in these.
# Not among them: cache_dir (clips from the cache are sampled from its stored frames, not decoded afresh) and
# skip_corrupt (which videos are scored).
RUNTIME_KEYS = ("workers", "threads", "progress", "tensorboard", "log_every", "device")


def direction_done(run_dir: str | Path, train_set: int) -> bool:
    return all(predictions_path(run_dir, train_set, k).is_file() for k in ("known", "unknown"))


def check_level(cfg: dict, level: str) -> None:
    """The fine level needs a model whose label space is given by texts."""
    if level == "coarse":
        return
    if level != "fine":
        raise TabenchError(f"--level must be coarse or fine, got {level!r}")
    from tabench.models import model_info
    from tabench.train import is_disentangled

    if is_disentangled(cfg):
        raise TabenchError("disentanglement is for the coarse protocol (its fine branch learns the training videos' "
                           "fine labels); drop --disentangle (or the _disentangle model) for --level fine")

    flag = getattr(model_info(cfg["model"]), "video_text", None)  # a registry fact: no model is built
    if flag is None:  # a stand-in without the registry's facts: ask the model itself
        flag = hasattr(_meta_model(cfg), "set_class_texts")
    if not flag:
        raise TabenchError(f"fine level needs a video-text model; {cfg.get('model')!r} is a unimodal classifier "
                           "(see `tabench models list`)")


def _meta_model(cfg: dict):
    """The configured model built on the meta device: its attributes without memory or initialisation."""
    import torch

    from tabench.train import build_model

    with torch.device("meta"):
        return build_model({**cfg, "weights": None}, 2)


def resolve_clip_shape(cfg: dict) -> dict:
    """Fill in the clip input (frames, size, sampling, normalisation) from the model's registry entry and the
    class-text settings from the model (tabench.classtext.resolve), so the saved config says what was used."""
    from tabench import classtext
    from tabench.train import resolve_input

    return classtext.resolve(resolve_input(cfg), lambda: _meta_model(cfg))


def _check_same_config(run_dir: Path, cfg: dict, data, level: str) -> dict | None:
    """Tie a run to its inputs: refuse to continue it on a different dataset (manifest sha256) or with settings
    that would change its results. Returns what a new run records in RUN/benchmark.yaml (`_record_inputs`, once
    its videos have passed the check), or None when the run has them already. A run that saved nothing yet (it
    was refused for bad data, or failed building its model) is not tied to the settings it failed with."""
    from tabench.data.format import manifest_sha256

    path = run_dir / "benchmark.yaml"
    current = {"data": str(Path(data).resolve()), "manifest_sha256": manifest_sha256(data), "level": level,
               "config": {k: v for k, v in cfg.items() if k not in RUNTIME_KEYS}}
    if not path.is_file() or not _has_progress(run_dir):
        return current  # new, or refused before anything was saved (bad model_kwargs, --weights, data)
    saved = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    refuse_different_inputs(run_dir, saved, current)
    return None


def _has_progress(run_dir: Path) -> bool:
    """Whether a run has saved anything its settings produced: a checkpoint, a prediction file or results."""
    return (run_dir / "results.json").exists() or any((run_dir / "predictions").glob("*.csv")) or any(
        (run_dir / f"train{k}" / name).exists() for k in (1, 2) for name in ("last.pt", "best.pt"))


def _record_inputs(run_dir: Path, inputs: dict) -> None:
    from tabench.io import atomic_write_text

    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "benchmark.yaml", yaml.safe_dump(inputs, sort_keys=False))


def refuse_different_inputs(run_dir, saved: dict, current: dict) -> None:
    """One-line refusal when a run's recorded inputs (manifest sha256, level, config) differ from these."""
    sha = saved.get("manifest_sha256")
    if sha is not None and sha != current["manifest_sha256"]:
        raise TabenchError(f"{run_dir} was computed on a different dataset ({saved.get('data')}, manifest sha256 "
                           f"{sha[:12]}...; {current['data']} has {current['manifest_sha256'][:12]}...); "
                           "use another --out for this dataset")
    for key in ("level", "config"):
        if key in saved and saved.get(key) != current[key]:
            diff = _first_difference(saved.get(key), current[key])
            raise TabenchError(f"{run_dir} was started with different settings ({diff}); "
                               "use another --out or the original settings")


def _first_difference(a, b) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if a.get(k) != b.get(k):
                return f"{k}: was {a.get(k)!r}, now {b.get(k)!r}"
    return f"was {a!r}, now {b!r}"


def evaluate_direction(cfg: dict, data: str | Path, run_dir: Path, train_set: int, level: str) -> dict:
    """Evaluate a trained direction on known and unknown contexts and write its two prediction files.

    Known context is Set k val, the training run's own validation set: the evaluated checkpoint carries the
    predictions its validation made (same weights, videos, views and label space), so known accuracy is computed
    once per direction; only a checkpoint without them (an older run) is evaluated on Set k val again."""
    import torch

    from tabench.data.format import open_dataset
    from tabench.evaluate import predict, summarize_predictions
    from tabench.train import (label_space, load_trained_model, make_dataset, set_label_texts, setup, amp_setup,
                               is_main, barrier)

    device, _, _ = setup(cfg)
    amp_dtype, _ = amp_setup(cfg, device)
    taxonomy = open_dataset(data).taxonomy
    which = cfg.get("eval_checkpoint", "last")
    model, ckpt = load_trained_model(run_dir / f"train{train_set}", which, device)
    tcfg = ckpt["config"]
    frames, size = int(tcfg["frames"]), int(tcfg["size"])
    # evaluate with the sampling and normalisation the model was trained with
    cfg = {**cfg, **{k: tcfg[k] for k in ("sampling", "frame_interval", "mean", "std") if tcfg.get(k) is not None}}
    views = (int(cfg["eval_clips"]), int(cfg["eval_crops"]))
    stored = ckpt.get("val_predictions")
    metrics, preds, times, reused = {}, {}, {}, {}
    for kind, eval_set in (("known", train_set), ("unknown", 3 - train_set)):
        t0 = time.time()
        if kind == "known" and stored is not None and list(stored.get("views", ())) == list(views):
            out, reused[kind] = stored, True
        else:
            ds = make_dataset(cfg, data, eval_set, "val", level, False, frames, size, views=views)
            if len(ds) == 0:
                raise TabenchError(f"{data}: Set {eval_set} has no val videos")
            set_label_texts(model, label_space(tcfg, taxonomy, eval_set, level))
            with torch.no_grad():
                out = predict(model, ds, device, int(cfg["batch_size"]), int(cfg["workers"]), amp_dtype,
                              progress=bool(cfg.get("progress", True)), desc=f"eval {kind}")
            reused[kind] = False
        metrics[kind] = summarize_predictions(out)
        preds[kind] = [Prediction(p, t, q) for p, t, q in zip(out["path"], out["true"], out["pred"])]
        times[kind] = time.time() - t0
    fine = None
    if "fine_class_names" in ckpt:  # disentangled: the fine branch on Set k val's fine labels (a record, not a metric)
        t0 = time.time()
        ds = make_dataset(cfg, data, train_set, "val", "fine", False, frames, size, views=views)
        model.output = "fine"
        try:
            with torch.no_grad():
                fine = summarize_predictions(predict(model, ds, device, int(cfg["batch_size"]), int(cfg["workers"]),
                                                     amp_dtype, progress=bool(cfg.get("progress", True)),
                                                     desc="eval fine branch"))
        finally:
            model.output = "coarse"
        times["fine_known"] = time.time() - t0
    if is_main():
        info = {"train_set": train_set, "checkpoint": which,
                "checkpoint_epoch": int(ckpt["epoch"]), "known": metrics["known"], "unknown": metrics["unknown"],
                "eval_time_s": times, "known_from_validation": reused["known"]}
        if fine is not None:
            info["fine_known"], info["disentangle"] = fine, ckpt.get("disentangle")
        atomic_write_json(run_dir / f"train{train_set}" / "eval.json", info)
        for kind in ("known", "unknown"):
            write_predictions(run_dir, train_set, kind, preds[kind])
    barrier()
    return metrics


def evaluate_retrieval(cfg: dict, data: str | Path, run_dir: Path, train_set: int) -> None:
    """Seed 003's motion-description retrieval for a trained direction: every val video of the known and of the
    unknown set picks the closest of that set's fine classes' motion descriptions, once with the object
    descriptions (`motion`) and once with the masked ones (`motion_masked`). Writes
    RUN/retrieval/<condition>/predictions/train{k}_{known,unknown}.csv (the results format)."""
    import torch

    from tabench.data.format import open_dataset
    from tabench.evaluate import predict
    from tabench.train import (amp_setup, barrier, is_main, label_space, load_trained_model, make_dataset,
                               set_label_texts, setup)

    device, _, _ = setup(cfg)
    amp_dtype, _ = amp_setup(cfg, device)
    taxonomy = open_dataset(data).taxonomy
    model, ckpt = load_trained_model(run_dir / f"train{train_set}", cfg.get("eval_checkpoint", "last"), device)
    tcfg = ckpt["config"]
    views = (int(cfg["eval_clips"]), int(cfg["eval_crops"]))
    for kind, eval_set in (("known", train_set), ("unknown", 3 - train_set)):
        ds = make_dataset(cfg, data, eval_set, "val", "fine", False, int(tcfg["frames"]), int(tcfg["size"]),
                          views=views)
        for cond in RETRIEVAL_CONDITIONS:
            set_label_texts(model, label_space({**tcfg, "class_text": cond}, taxonomy, eval_set, "fine"))
            with torch.no_grad():
                out = predict(model, ds, device, int(cfg["batch_size"]), int(cfg["workers"]), amp_dtype,
                              progress=bool(cfg.get("progress", True)), desc=f"retrieval {cond} {kind}")
            if is_main():
                write_predictions(run_dir / "retrieval" / cond, train_set, kind,
                                  [Prediction(p, t, q) for p, t, q in zip(out["path"], out["true"], out["pred"])])
    barrier()


def retrieval_done(run_dir: Path, train_set: int) -> bool:
    return all(direction_done(run_dir / "retrieval" / c, train_set) for c in RETRIEVAL_CONDITIONS)


def run_benchmark(cfg: dict, data: str | Path, out: str | Path, level: str = "coarse",
                  task: str = "classification") -> dict:
    """Both directions of the protocol, then results.json. Returns the results dict.

    `task: retrieval` (seed 003) trains at the fine level (on the motion descriptions unless `class_text` says
    otherwise) and also scores motion-description retrieval with the object and the masked descriptions."""
    from tabench.data.format import open_dataset
    from tabench.outputs import claim
    from tabench.train import check_videos_before_training, dist_env, is_main, resolve_model, skipped_videos, train

    out = Path(out)
    dataset = open_dataset(data)
    taxonomy = dataset.taxonomy
    cfg = resolve_model(cfg)
    if task not in TASKS:
        raise TabenchError(f"--task must be one of {', '.join(TASKS)}, got {task!r}")
    if task == "retrieval":
        if level != "fine":
            raise TabenchError("--task retrieval matches videos to fine classes' descriptions: use --level fine")
        cfg = {**cfg, "class_text": cfg.get("class_text") or "motion"}
    check_level(cfg, level)
    cfg = resolve_clip_shape(cfg)
    inputs = None
    if is_main():
        claim(out, "benchmark")
        inputs = _check_same_config(out, cfg, data, level)
    # every video both directions will use, decoded before anything trains (cached per manifest)
    selections = [(s, split) for s in (1, 2) for split in ("train", "val")]
    problems = check_videos_before_training(cfg, dataset, selections, dist_env()[0])
    created = not out.exists()
    if is_main():
        out.mkdir(parents=True, exist_ok=True)
        if inputs is not None:
            _record_inputs(out, inputs)
    t_all = time.time()
    try:
        for k in (1, 2):
            if direction_done(out, k):
                if is_main():
                    print(f"train set {k}: finished earlier, skipping", flush=True)
                continue
            if is_main():
                print(f"train set {k}: training {cfg['model']} on Set {k} ({level})", flush=True)
            train(cfg, data, k, out / f"train{k}", level=level, resume=True)
            evaluate_direction(cfg, data, out, k, level)
    except TabenchError:
        # refused before anything was saved (an unknown model_kwargs key, unusable --weights): leave no run
        # folder behind that this call made, so a refused command changes nothing on disk
        if created and is_main() and not _has_progress(out):
            import shutil

            shutil.rmtree(out, ignore_errors=True)
        raise
    if task == "retrieval":
        for k in (1, 2):
            if not retrieval_done(out, k):
                evaluate_retrieval(cfg, data, out, k)
    if not is_main():
        return {}
    from tabench.data.format import manifest_sha256

    extra = {"config": cfg, "eval_checkpoint": cfg.get("eval_checkpoint", "last"), "data": str(data),
             "manifest_sha256": manifest_sha256(data), "skipped": skipped_videos(dataset, problems, selections),
             "timings": {}, "per_direction": {}}
    if cfg.get("class_text"):  # resolved for video-text models only (classtext.resolve)
        from tabench import classtext

        extra.update(class_text=classtext.settings(cfg), text_classifier=cfg.get("text_classifier", "learned"),
                     transductive=bool(cfg.get("transductive")))
    if task == "retrieval":
        from tabench.results import compute_results

        extra["task"] = "retrieval"
        extra["retrieval"] = {c: {k: v for k, v in compute_results(out / "retrieval" / c, taxonomy.name,
                                                                   cfg["model"], "fine").items()
                                  if k in ("directions", "mean")} for c in RETRIEVAL_CONDITIONS}
    for k in (1, 2):
        for name, key in (("summary.json", "timings"), ("eval.json", "per_direction")):
            p = out / f"train{k}" / name
            if p.is_file():
                import json
                d = json.loads(p.read_text(encoding="utf-8"))
                if key == "timings":
                    extra[key][f"train{k}"] = {"train_s": d.get("train_time_s"), "epochs": d.get("epochs"),
                                               "steps": d.get("steps")}
                else:
                    extra[key][f"train{k}"] = {kk: d[kk] for kk in ("known", "unknown", "checkpoint_epoch")}
                    extra["timings"].setdefault(f"train{k}", {})["eval_s"] = d.get("eval_time_s")
    extra["timings"]["this_session_s"] = time.time() - t_all
    dis = _disentangle_record(out)
    if dis is not None:
        extra["disentangle"] = dis
    if cfg.get("weights"):  # what each direction started from (full report: train{k}/weights.json)
        import json

        from tabench.models.weights import summarize_report
        extra["weights"] = {f"train{k}": summarize_report(json.loads(p.read_text(encoding="utf-8")))
                            for k in (1, 2) if (p := out / f"train{k}" / "weights.json").is_file()}
    res = write_results(out, taxonomy.name, cfg["model"], level, extra=extra)
    print(format_table(res))
    for c, r in res.get("retrieval", {}).items():
        print(format_table({**r, "model": res["model"], "dataset": res["dataset"],
                            "level": f"motion-description retrieval, {c}"}))
    return res


def _disentangle_record(out: Path) -> dict | None:
    """results.json's `disentangle`: the settings and the fine branch's known-context fine accuracy (top-1 on
    Set k val's fine labels, per direction and their mean)."""
    import json

    evals = [json.loads(p.read_text(encoding="utf-8")) for k in (1, 2)
             for p in [out / f"train{k}" / "eval.json"] if p.is_file()]
    evals = [e for e in evals if "fine_known" in e]
    if not evals:
        return None
    fk = {f"train{e['train_set']}": float(e["fine_known"]["top1"]) for e in evals}
    fk["mean"] = sum(fk.values()) / len(fk)
    return {**(evals[0].get("disentangle") or {}), "fine_known": fk}


def format_table(res: dict) -> str:
    """The Known / Unknown / Dabs / Drel / HM table of one run, per direction and the mean."""
    head = f"{res['model']} on {res['dataset']} ({res['level']})"
    cols = ("known", "unknown", "dabs", "drel", "hm")
    lines = [head, f"{'':<10}" + "".join(f"{c.capitalize() if c != 'hm' else 'HM':>9}" for c in cols)]
    for d in res["directions"]:
        lines.append(f"{'Set ' + str(d['train_set']):<10}" + "".join(f"{d[c]:>9.2f}" for c in cols))
    lines.append(f"{'Mean':<10}" + "".join(f"{res['mean'][c]:>9.2f}" for c in cols))
    note = skipped_note(res.get("skipped"))
    if note:
        lines.append(note)
    return "\n".join(lines)


def skipped_note(skipped: dict | None) -> str | None:
    """'left out (skip_corrupt): 3 videos (train_set1 2, val_set2 1); accuracy is over the videos scored'."""
    counts = {k: len(v) for k, v in (skipped or {}).items() if v}
    if not counts:
        return None
    per = ", ".join(f"{k} {n}" for k, n in counts.items())
    return (f"left out (skip_corrupt): {sum(counts.values())} unreadable videos ({per}); accuracy is over the "
            "videos scored; their paths are under `skipped` in results.json")
