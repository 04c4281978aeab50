"""The training loop for CPU and GPU, one process or DDP, in named steps: `prepare` (devices, model, data,
optimiser), `resume_from` (last.pt), then per epoch `train_one_epoch` and `validate_and_checkpoint`.

    python -m tabench train --data DATA --model x3d_xs --level coarse --train-set 1 --out RUN
    torchrun --nproc_per_node 4 -m tabench train ...      # DDP: gloo on CPU, nccl on GPU; rank 0 writes

Trains on Set k's train split and validates on Set k's val split. Every epoch writes `last.pt` atomically
(model, optimizer, scheduler, grad scaler, epoch, step, RNG states, history); `best.pt` keeps the weights with
the best validation accuracy. Checkpoints hold only tensors and plain Python values, so they load with
`torch.load(..., weights_only=True)`.

Resuming is exact: the data order, the clip sampling and the global RNGs are re-seeded at every epoch start from
(seed, epoch, rank), so an interrupted run continued with `--resume` reaches the same weights as an uninterrupted
one (bit-for-bit on CPU with `--deterministic`).

Models that read their label space from text (video-text models) get `set_class_texts(names)` with the training
label names before training and with the evaluation label names before each evaluation; a model's optional
`auxiliary_loss(labels)` is added to the loss after every forward.

Evaluation (`predict`, `summarize_predictions`) lives in `tabench.evaluate`, shared with the protocol runner.
"""
from __future__ import annotations

import contextlib
import math
import os
import random
import time
from pathlib import Path
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from tabench import TabenchError
from tabench.evaluate import predict, summarize_predictions  # noqa: F401  (also importable from here)
from tabench.io import atomic_path, atomic_write_json

CHECKPOINT_LAST = "last.pt"
CHECKPOINT_BEST = "best.pt"


# ----------------------------------------------------------------------------------------------------------
# processes, devices, seeds

def dist_env() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from the variables torchrun sets; (0, 1, 0) when run directly."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))


def pick_device(want: str, local_rank: int = 0, world: int = 1) -> torch.device:
    """The config's `device`: auto (the process's GPU when there is one, else the CPU), cpu, cuda (under torchrun
    GPU LOCAL_RANK) or cuda:N (one process). Asking for a GPU that is not there is an error, not a CPU run."""
    if want == "cpu" or (want == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise TabenchError(f"device {want!r} asks for a GPU but torch sees none (torch.cuda.is_available() is "
                           "False); use device: cpu or auto")
    index = local_rank if want in ("auto", "cuda") or world > 1 else int(want.split(":", 1)[1])
    if index >= torch.cuda.device_count():
        raise TabenchError(f"device {want!r}: GPU {index} does not exist ({torch.cuda.device_count()} visible)")
    return torch.device("cuda", index)


def setup(cfg: dict) -> tuple[torch.device, int, int]:
    """Pick the device, start the process group under torchrun (once), apply threads and determinism."""
    rank, world, local_rank = dist_env()
    device = pick_device(cfg.get("device") or "auto", local_rank, world)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg["threads"]))
    if cfg.get("deterministic"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        # Some CUDA kernels (e.g. 3D adaptive pooling backward) have no deterministic version: warn there.
        torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
        torch.backends.cudnn.benchmark = False
    elif device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return device, rank, world


def is_main() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _epoch_seed(seed: int, epoch: int, rank: int) -> int:
    return (seed * 1_000_003 + epoch * 7919 + rank * 104_729) % 2**31


def _seed_worker(worker_id: int) -> None:
    # torch seeds itself and `random` in workers; numpy would repeat across workers without this.
    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)


def rng_state() -> dict:
    """Global RNG states as tensors and plain values (loadable with weights_only=True)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {"torch": torch.get_rng_state(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "gauss": float(gauss)},
             "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        with contextlib.suppress(RuntimeError):
            torch.cuda.set_rng_state_all(state["cuda"])


# ----------------------------------------------------------------------------------------------------------
# model and data

def resolve_model(cfg: dict) -> dict:
    """The config with its model named: `model: null` means the CPU default. The one place that default is read,
    so a run's saved config, its checkpoints and its results always name the model that was trained."""
    if cfg.get("model"):
        return cfg
    from tabench.models import DEFAULT_CPU_MODEL

    return {**cfg, "model": DEFAULT_CPU_MODEL}


def build_model(cfg: dict, num_classes: int) -> nn.Module:
    """The configured model; with `disentangle` set (or a `<model>_disentangle` name) the backbone is built (and
    given its --weights) first, then wrapped into coarse/fine branches (tabench.models.disentangle)."""
    from tabench.models import create_model
    from tabench.models.disentangle import base_name, disentangle

    name = resolve_model(cfg)["model"]
    settings, base = cfg.get("disentangle"), base_name(name)
    if base is not None:
        if settings is not None:
            raise TabenchError(f"{name} is already disentangled; drop --disentangle / the disentangle key, or use "
                               f"--model {base}")
        name, settings = base, {"blocks": None, "fine_weight": 1.0}
    kwargs = cfg.get("model_kwargs") or {}
    try:
        model = create_model(name, num_classes, weights=cfg.get("weights"),
                             strict=bool(cfg.get("weights_strict", True)), verbose=is_main(), **kwargs)
    except TypeError as e:
        if "unexpected keyword argument" in str(e):
            bad = str(e).rsplit("argument", 1)[-1].strip()
            raise TabenchError(f"model_kwargs: {name} has no argument {bad} (given: {', '.join(kwargs)})") from None
        raise
    if settings is not None:
        report = getattr(model, "weights_report", None)
        model = disentangle(model, blocks=settings.get("blocks"), fine_weight=settings.get("fine_weight", 1.0))
        if report is not None:  # the run's weights.json still says what the backbone loaded
            model.weights_report = report
    return model


def is_disentangled(cfg: dict) -> bool:
    from tabench.models.disentangle import base_name

    return cfg.get("disentangle") is not None or base_name(resolve_model(cfg)["model"]) is not None


INPUT_KEYS = ("frames", "size", "sampling", "frame_interval", "mean", "std")


def resolve_input(cfg: dict, model: nn.Module | None = None) -> dict:
    """The config with its clip input keys (`INPUT_KEYS`) filled in where it leaves them unset: from the built
    `model`'s `default_frames`/`default_size` when given, else `model_kwargs` frames/size, else the model's
    registry entry (`ModelInfo`: frames, size, sampling, frame_interval, input_mean, input_std). Nothing is built
    unless the registry entry lacks a fact (a stand-in model), so the saved config says what the data pipeline
    used without costing a model."""
    import tabench.models as zoo

    cfg = resolve_model(cfg)
    if all(cfg.get(k) is not None for k in INPUT_KEYS):
        return cfg
    info = zoo.model_info(cfg["model"])
    kw = cfg.get("model_kwargs") or {}
    facts = {"frames": kw.get("frames", getattr(info, "frames", None)),
             "size": kw.get("size", getattr(info, "size", None)),
             "sampling": getattr(info, "sampling", None) or "segment",
             "frame_interval": getattr(info, "frame_interval", None) or 2,
             "mean": list(getattr(info, "input_mean", None) or zoo.KINETICS_MEAN),
             "std": list(getattr(info, "input_std", None) or zoo.KINETICS_STD)}
    if model is None and (facts["frames"] is None or facts["size"] is None) and not (cfg.get("frames") and cfg.get("size")):
        with torch.device("meta"):
            model = build_model({**cfg, "weights": None}, 2)
    if model is not None:
        facts["frames"] = getattr(model, "default_frames", None) or facts["frames"]
        facts["size"] = getattr(model, "default_size", None) or facts["size"]
    out = dict(cfg)
    for k in INPUT_KEYS:
        if out.get(k) is None:
            out[k] = facts[k]
    out["frames"], out["size"], out["frame_interval"] = int(out["frames"]), int(out["size"]), int(out["frame_interval"])
    out["mean"], out["std"] = [float(v) for v in out["mean"]], [float(v) for v in out["std"]]
    return out


def clip_shape(cfg: dict, model: nn.Module | None = None) -> tuple[int, int]:
    """(frames, size): the config's, else the model's (see `resolve_input`)."""
    r = resolve_input(cfg, model)
    return r["frames"], r["size"]


def make_dataset(cfg: dict, data: str | Path, set_id: int | None, split: str, level: str, train: bool,
                 frames: int, size: int, views: tuple[int, int] = (1, 1), classes=None):
    """The clip dataset of one split, with the config's (else the model's) sampling and normalisation; with
    `classes` (fine classes of either set, e.g. a ZSAR split), the clips of those classes across both sets,
    labelled by their position in `classes`."""
    if cfg.get("features"):  # precomputed frozen-backbone clip features (`tabench features`) instead of videos
        from tabench.data.features import FeatureDataset, resolve_dir

        if tuple(views) != (1, 1):
            raise TabenchError("eval_clips / eval_crops must be 1 with `features`: the stored features are one "
                               "view per video")
        return FeatureDataset(resolve_dir(cfg, data), data, set_id, split, level, cfg=resolve_model(cfg))
    from tabench.data.clips import ClipDataset

    if classes is not None:
        from tabench.data.subset import ClassSubset

        sets = sorted({f.set for f in classes})
        return ClassSubset([make_dataset(cfg, data, s, split, "fine", train, frames, size, views) for s in sets],
                           classes)
    cfg = resolve_input({**cfg, "frames": frames, "size": size})
    kw = {"mean": tuple(cfg["mean"]), "std": tuple(cfg["std"])}
    cache = cfg.get("cache_dir")
    if cache is not None and not Path(cache).is_absolute():
        cache = str(Path(data) / cache)
    return ClipDataset(str(data), set_id=set_id, split=split, level=level, num_frames=frames, size=size,
                       train=train, sampling=cfg["sampling"],
                       frame_interval=int(cfg["frame_interval"]), num_clips=views[0], num_crops=views[1],
                       hflip=bool(cfg.get("hflip")) and train, cache_dir=cache,
                       skip_corrupt=bool(cfg.get("skip_corrupt")), seed=int(cfg.get("seed", 0)),
                       crop=cfg.get("crop") or "center", crop_scale=cfg.get("crop_scale"), **kw)


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def set_label_texts(model: nn.Module, texts: list) -> None:
    """Give a video-text model its label space as texts (names or `tabench.classtext.ClassPrompt`s, from
    `label_space`); a no-op for classifiers with a fixed head."""
    m = unwrap(model)
    if hasattr(m, "set_class_texts"):
        m.set_class_texts(list(texts))
    elif hasattr(m, "set_label_names"):  # fixed-head classifiers whose loss uses class texts (CIR)
        m.set_label_names(list(texts))


def label_space(cfg: dict, taxonomy, set_id: int | None, level: str, classes=None) -> list:
    """What a video-text model is given for (Set `set_id`, level), or for a list of fine `classes`: the class
    names, or one class prompt per class, as the config's `class_text` says (tabench.classtext)."""
    from tabench import classtext

    return classtext.label_texts(cfg, taxonomy, set_id, level, classes=classes)


def setup_text_side(cfg: dict, model: nn.Module, taxonomy, train_set: int | None, level: str, classes=None,
                    unseen=None) -> list:
    """Resolve and apply the class-text settings to a freshly built model: its training label space, a frozen
    text classifier (`text_classifier: frozen`) and, with `transductive`, the unseen classes' texts (the other
    set's fine classes in the protocol, or `unseen`). Returns the label space."""
    if not hasattr(model, "set_class_texts"):
        if hasattr(model, "set_label_names"):  # a fixed-head classifier whose loss reads the class names (CIR)
            space = label_space(cfg, taxonomy, train_set, level, classes)
            set_label_texts(model, space)
            return space
        return []
    space = label_space(cfg, taxonomy, train_set, level, classes)
    set_label_texts(model, space)
    if cfg.get("text_classifier") == "frozen":
        model.freeze_text_classifier()
    if cfg.get("transductive"):
        if unseen is None and (classes is not None or level != "fine"):
            raise TabenchError("transductive training needs unseen classes: use --level fine (the other set's "
                               "fine classes) or the ZSAR protocol")
        model.set_unseen_class_texts(label_space(cfg, taxonomy, 3 - train_set if unseen is None else None,
                                                 "fine", classes=unseen))
    return space


def amp_setup(cfg: dict, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, whether to use a GradScaler)."""
    amp = cfg.get("amp", "auto")
    if amp == "off":
        return None, False
    if device.type != "cuda":
        if amp == "auto":
            return None, False
        if amp == "fp16":
            raise TabenchError("amp fp16 needs a GPU; use --amp bf16 or --amp off on CPU")
        return torch.bfloat16, False
    if amp == "auto":
        amp = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return (torch.bfloat16, False) if amp == "bf16" else (torch.float16, True)


def build_optimizer(cfg: dict, model: nn.Module) -> torch.optim.Optimizer:
    """No weight decay on biases and normalisation parameters (1-d tensors); frozen parameters are left out."""
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    groups = [{"params": decay, "weight_decay": float(cfg["weight_decay"])},
              {"params": no_decay, "weight_decay": 0.0}]
    if cfg["optimizer"] == "sgd":
        return torch.optim.SGD(groups, lr=float(cfg["lr"]), momentum=float(cfg["momentum"]), nesterov=True)
    return torch.optim.AdamW(groups, lr=float(cfg["lr"]))


def lr_factor(step: int, total: int, warmup: int, min_ratio: float) -> float:
    """Linear warm-up from ~0 to 1 over `warmup` steps, then cosine decay to `min_ratio`."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


# ----------------------------------------------------------------------------------------------------------
# checkpoints

def save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise TabenchError(f"{path}: no such checkpoint")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # a truncated or foreign file
        from tabench.io import torch_load_reason

        raise TabenchError(f"{path}: not a readable tabench checkpoint ({torch_load_reason(e)})") from None


def load_trained_model(run_dir: str | Path, which: str = "last", device="cpu") -> tuple[nn.Module, dict]:
    """Rebuild the model of a training run and load its `last.pt` or `best.pt` weights."""
    ckpt = load_checkpoint(Path(run_dir) / (CHECKPOINT_BEST if which == "best" else CHECKPOINT_LAST))
    cfg = {**ckpt["config"], "weights": None}
    model = build_model(cfg, int(ckpt["num_classes"]))
    if "fine_class_names" in ckpt:
        model.set_fine_classes(ckpt["fine_class_names"])
    model.load_state_dict(ckpt["model"])
    return model.to(device), ckpt


# ----------------------------------------------------------------------------------------------------------
# the loop, in named steps: prepare -> resume_from -> (train_one_epoch -> validate_and_checkpoint)* -> summary

@dataclass
class Progress:
    """Where a run is and how it went: what last.pt restores besides the weights and optimiser states."""

    epoch: int = 0  # epochs finished
    step: int = 0
    best_acc: float = -1.0
    best_epoch: int = -1
    history: list = field(default_factory=list)


@dataclass
class Loop:
    """Everything one training run works with, built once by `prepare` (the same on every rank)."""

    cfg: dict
    out: Path
    train_set: int
    level: str
    class_names: list
    label_space: list  # what a video-text model is given (names or class prompts); [] for classifiers
    device: torch.device
    rank: int
    world: int
    model: nn.Module  # DDP-wrapped under torchrun
    train_ds: object
    val_ds: object
    sampler: object
    loader: object
    loader_gen: torch.Generator
    optimizer: torch.optim.Optimizer
    scheduler: object
    scaler: object
    amp_dtype: torch.dtype | None
    epochs: int
    progress_bars: bool
    manifest_sha256: str = ""

    @property
    def raw(self) -> nn.Module:
        return unwrap(self.model)

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def views(self) -> list[int]:
        return [int(self.cfg["eval_clips"]), int(self.cfg["eval_crops"])]


def prepare(cfg: dict, data: str | Path, train_set: int | None, out: Path, level: str, classes=None,
            unseen=None) -> Loop:
    """Devices, the model (identical initial weights on every rank), the data and the optimisation.
    `classes` (fine classes of either set) replaces Set `train_set`'s label space, `unseen` gives a
    transductive method the unseen classes (the ZSAR protocol)."""
    from torch.utils.data import DataLoader, DistributedSampler

    from tabench import classtext
    from tabench.data.format import manifest_sha256, open_dataset

    dataset = open_dataset(data)
    taxonomy = dataset.taxonomy
    class_names = [f.name for f in classes] if classes is not None else taxonomy.labels(train_set, level)
    device, rank, world = setup(cfg)
    used_sets = (train_set,) if train_set is not None else (1, 2)
    check_videos_before_training(cfg, dataset, [(k, split) for k in used_sets for split in ("train", "val")], rank)
    seed = int(cfg["seed"])
    seed_all(seed)
    cfg = resolve_model(cfg)
    model = build_model(cfg, len(class_names))  # same seed on every rank; DDP also broadcasts rank 0's
    cfg = resolve_input(cfg, model)  # what the data pipeline uses; config.yaml records it
    frames, size = cfg["frames"], cfg["size"]
    cfg = classtext.resolve(cfg, model)
    space = setup_text_side(cfg, model, taxonomy, train_set, level, classes, unseen)
    if hasattr(model, "set_fine_classes"):  # disentangled: the fine branch learns the training set's fine classes
        if level != "coarse":
            raise TabenchError("disentanglement is for the coarse protocol (its fine branch learns the fine labels); "
                               "drop --disentangle for --level fine")
        model.set_fine_classes(open_dataset(data).taxonomy.labels(train_set, "fine"))
    model.to(device)

    train_ds = make_dataset(cfg, data, train_set, "train", level, True, frames, size, classes=classes)
    val_ds = make_dataset(cfg, data, train_set, "val", level, False, frames, size,
                          views=(int(cfg["eval_clips"]), int(cfg["eval_crops"])), classes=classes)
    if len(train_ds) == 0:
        raise TabenchError(f"{data}: Set {train_set} has no training videos")
    batch_size = int(cfg["batch_size"])
    sampler = DistributedSampler(train_ds, num_replicas=world, rank=rank, shuffle=True, seed=seed)
    drop_last = len(sampler) >= batch_size  # at least one full batch: avoids a last batch of 1 (BatchNorm)
    loader_gen = torch.Generator()
    loader = DataLoader(train_ds, batch_size=batch_size, sampler=sampler, num_workers=int(cfg["workers"]),
                        drop_last=drop_last, pin_memory=device.type == "cuda", generator=loader_gen,
                        worker_init_fn=_seed_worker, persistent_workers=False)
    epochs = int(cfg["epochs"])
    total_steps = epochs * len(loader)
    warmup_steps = int(round(float(cfg["warmup_epochs"]) * len(loader)))
    optimizer = build_optimizer(cfg, model)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, total_steps, warmup_steps, float(cfg["min_lr_ratio"])))
    amp_dtype, use_scaler = amp_setup(cfg, device)
    scaler = torch.amp.GradScaler(device.type, enabled=use_scaler)
    return Loop(cfg=cfg, out=out, train_set=train_set, level=level, class_names=list(class_names),
                label_space=space, device=device,
                rank=rank, world=world, model=model, train_ds=train_ds, val_ds=val_ds, sampler=sampler,
                loader=loader, loader_gen=loader_gen, optimizer=optimizer, scheduler=scheduler, scaler=scaler,
                amp_dtype=amp_dtype, epochs=epochs, progress_bars=bool(cfg.get("progress", True)) and rank == 0,
                manifest_sha256=manifest_sha256(data))


def check_videos_before_training(cfg: dict, dataset, selections, rank: int = 0) -> list:
    """Decode every video of the (set, split) `selections` once (cached per manifest: `tabench.data.integrity`)
    before anything trains, so a broken file is named up front rather than as a DataLoader traceback mid-run.
    Bad videos are an error unless `skip_corrupt`, which leaves them out (the datasets then skip them).
    Rank 0 decodes; the other ranks read its cached verdicts."""
    from tabench.data.integrity import refuse_bad_videos, verify_dataset

    entries = [e for s, split in selections for e in dataset.select(s, split)]
    progress = bool(cfg.get("progress", True)) and rank == 0
    if rank == 0:
        problems = verify_dataset(dataset.root, entries, progress=progress)
    barrier()
    if rank != 0:
        problems = verify_dataset(dataset.root, entries, progress=False)
    if not cfg.get("skip_corrupt"):
        what = " and ".join(f"Set {s} {split}" for s, split in selections)
        refuse_bad_videos(dataset.root, problems, f"the videos of {what}")
    return problems


def skipped_videos(dataset, problems, selections) -> dict:
    """{"train_set1": [{path, kind, detail}], ...}: the videos left out of each (split, set), for results.json."""
    out = {}
    for s, split in selections:
        paths = {e.path for e in dataset.select(s, split)}
        out[f"{split}_set{s}"] = [p.to_dict() for p in problems if p.path in paths]
    return out


def resume_from(loop: Loop, path: Path) -> Progress:
    """Restore weights, optimiser, scheduler, scaler, RNG states and progress from `path` (last.pt), after
    checking that it is a checkpoint of this same run."""
    from tabench.protocol import RUNTIME_KEYS, refuse_different_inputs

    ckpt = load_checkpoint(path)  # on CPU: RNG states must stay CPU tensors
    if ckpt.get("num_classes") != len(loop.class_names) or ckpt.get("train_set") != loop.train_set:
        raise TabenchError(f"{path} is from a different run (set/classes differ); pick another --out")
    if ckpt.get("model_name", loop.cfg["model"]) != loop.cfg["model"]:
        raise TabenchError(f"{path} trained {ckpt.get('model_name')}, not {loop.cfg['model']}; "
                           "pick another --out or the original --model")
    saved_cfg = ckpt.get("config") or {}
    refuse_different_inputs(loop.out, {
        "manifest_sha256": ckpt.get("manifest_sha256"), "data": "the dataset it was trained on",
        "level": ckpt.get("level", loop.level),
        "config": {k: v for k, v in saved_cfg.items() if k not in RUNTIME_KEYS}},
        {"manifest_sha256": loop.manifest_sha256, "data": "this --data", "level": loop.level,
         "config": {k: v for k, v in loop.cfg.items() if k not in RUNTIME_KEYS}})
    loop.model.load_state_dict(ckpt["model"])
    loop.optimizer.load_state_dict(ckpt["optimizer"])
    loop.scheduler.load_state_dict(ckpt["scheduler"])
    loop.scaler.load_state_dict(ckpt["scaler"])
    set_rng_state(ckpt["rng"])
    return Progress(epoch=int(ckpt["epoch"]), step=int(ckpt["step"]), best_acc=float(ckpt["best_acc"]),
                    best_epoch=int(ckpt["best_epoch"]), history=list(ckpt["history"]))


def train_one_epoch(loop: Loop, epoch: int, progress: Progress, writer=None) -> dict:
    """One pass over the training split; advances `progress.step`; returns the epoch's record."""
    cfg, device, model, raw = loop.cfg, loop.device, loop.model, loop.raw
    seed = int(cfg["seed"])
    # Everything random in this epoch derives from (seed, epoch, rank): resume-exact.
    seed_all(_epoch_seed(seed, epoch, loop.rank))
    loop.loader_gen.manual_seed(_epoch_seed(seed, epoch, loop.rank))
    loop.sampler.set_epoch(epoch)
    if hasattr(loop.train_ds, "set_epoch"):
        loop.train_ds.set_epoch(epoch)
    smoothing = float(cfg["label_smoothing"])
    clip_grad = float(cfg["clip_grad"] or 0.0)
    optimizer, scheduler, scaler = loop.optimizer, loop.scheduler, loop.scaler
    model.train()
    t0 = time.time()
    loss_sum, correct, seen = torch.zeros((), device=device), torch.zeros((), device=device), 0
    it = loop.loader
    if loop.progress_bars:
        from tqdm import tqdm
        it = tqdm(loop.loader, desc=f"train set {loop.train_set} epoch {epoch + 1}/{loop.epochs}", leave=False,
                  dynamic_ncols=True)
    for batch in it:
        x = batch["video"].to(device, non_blocking=True)
        y = batch["label"].to(device, non_blocking=True)
        if hasattr(raw, "set_fine_targets"):  # disentangled: the fine branch's labels (training only)
            raw.set_fine_targets(batch["fine_label"].to(device, non_blocking=True))
        with torch.autocast(device.type, dtype=loop.amp_dtype, enabled=loop.amp_dtype is not None):
            logits = model(x)
            # methods trained with their own loss only (ActionCLIP's / EZ-CLIP's KL loss) add no cross-entropy
            if getattr(raw, "uses_cross_entropy", True):
                loss = F.cross_entropy(logits.float(), y, label_smoothing=smoothing)
            else:
                loss = logits.new_zeros((), dtype=torch.float32)
            if hasattr(raw, "auxiliary_loss"):
                aux = raw.auxiliary_loss(y)  # labels: ActionCLIP's KL loss pairs same-class clips
                if aux is not None:
                    loss = loss + aux
        if not torch.isfinite(loss):
            raise TabenchError(f"loss became {loss.item()} at epoch {epoch + 1} step {progress.step}; "
                               "lower --lr or enable --clip-grad")
        scaler.scale(loss).backward()
        if clip_grad > 0:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(raw.parameters(), clip_grad)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        progress.step += 1
        loss_sum += loss.detach() * y.numel()
        correct += (logits.detach().argmax(1) == y).sum()
        seen += y.numel()
        if loop.progress_bars:
            it.set_postfix(loss=f"{loss.item():.3f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
        if writer is not None and progress.step % int(cfg["log_every"]) == 0:
            writer.add_scalar("train/loss", loss.item(), progress.step)
            writer.add_scalar("train/lr", scheduler.get_last_lr()[0], progress.step)
    if loop.world > 1:
        stats = torch.stack([loss_sum, correct, torch.tensor(float(seen), device=device)])
        dist.all_reduce(stats)
        loss_sum, correct, seen = stats[0], stats[1], int(stats[2].item())
    return {"epoch": epoch + 1, "step": progress.step, "train_loss": float(loss_sum / max(seen, 1)),
            "train_acc": float(100.0 * correct / max(seen, 1)), "lr": float(scheduler.get_last_lr()[0]),
            "time": time.time() - t0}


def validate_and_checkpoint(loop: Loop, epoch: int, record: dict, progress: Progress, writer=None) -> None:
    """Validate when due (every `val_every` epochs and after the last), keep best.pt, write last.pt.

    A validated checkpoint carries its validation predictions (`val_predictions`): the protocol's known-context
    test set is this same val split, so it reads them instead of evaluating the same weights again."""
    cfg, main = loop.cfg, loop.main
    val_every = int(cfg["val_every"])
    val_preds = None
    if epoch + 1 == loop.epochs or (val_every > 0 and (epoch + 1) % val_every == 0):
        set_label_texts(loop.model, loop.label_space)
        out = predict(loop.model, loop.val_ds, loop.device, int(cfg["batch_size"]), int(cfg["workers"]),
                      loop.amp_dtype, progress=loop.progress_bars, desc="validate")
        res = summarize_predictions(out)
        val_preds = {**out, "views": loop.views}
        record.update(val_acc=res["top1"], val_top5=res["top5"], val_mean_class=res["mean_class"])
        if res["top1"] > progress.best_acc:
            progress.best_acc, progress.best_epoch = res["top1"], epoch + 1
            if main:
                best = _model_state(loop, epoch + 1, progress.step, res["top1"])
                save_checkpoint(loop.out / CHECKPOINT_BEST, {**best, "val_predictions": val_preds})
    progress.history.append(record)
    progress.epoch = epoch + 1
    if main:
        state = _model_state(loop, epoch + 1, progress.step, record.get("val_acc"))
        state.update(optimizer=loop.optimizer.state_dict(), scheduler=loop.scheduler.state_dict(),
                     scaler=loop.scaler.state_dict(), best_acc=progress.best_acc, best_epoch=progress.best_epoch,
                     history=progress.history, rng=rng_state(), world_size=loop.world)
        if val_preds is not None:
            state["val_predictions"] = val_preds
        save_checkpoint(loop.out / CHECKPOINT_LAST, state)
        msg = (f"set {loop.train_set} epoch {epoch + 1}/{loop.epochs}: loss {record['train_loss']:.3f}, "
               f"train acc {record['train_acc']:.1f}%")
        if "val_acc" in record:
            msg += f", val acc {record['val_acc']:.1f}%"
        print(msg + f" ({record['time']:.0f}s)", flush=True)
        if writer is not None:
            for k in ("train_loss", "train_acc", "val_acc", "val_top5", "val_mean_class"):
                if k in record:
                    writer.add_scalar(k.replace("_", "/", 1), record[k], epoch + 1)
            writer.flush()


def train(cfg: dict, data: str | Path, train_set: int | None, out: str | Path, level: str = "coarse",
          resume: bool = False, on_epoch_end: Callable[[int, dict], None] | None = None, classes=None,
          unseen=None) -> dict:
    """Train on Set `train_set`'s train split, validate on its val split; write checkpoints, logs and
    config.yaml under `out`. Returns a summary (also written to out/summary.json). With `classes` (fine classes
    of either set; `train_set` None), train and validate on those classes' videos instead (the ZSAR protocol),
    and `unseen` are the unseen classes a transductive method may see the texts of.

    `resume`: continue from out/last.pt if present (a finished run returns at once). Without it an existing
    last.pt is an error, so a run is never overwritten by accident. `on_epoch_end(epoch, record)` is called on
    every rank after each epoch's checkpoint is written."""
    from tabench import config as config_mod

    out = Path(out)
    if (train_set not in (1, 2)) if classes is None else (train_set is not None or level != "fine"):
        raise TabenchError(f"--train-set must be 1 or 2, got {train_set}" if classes is None
                           else "training on a class list is at the fine level, over both sets")
    if level not in ("coarse", "fine"):
        raise TabenchError(f"--level must be coarse or fine, got {level!r}")
    last_path = out / CHECKPOINT_LAST
    from tabench.outputs import claim

    claim(out, "training")
    if last_path.exists() and not resume:
        raise TabenchError(f"{out} already holds a training run; pass --resume to continue it or pick another --out")

    loop = prepare(cfg, data, train_set, out, level, classes, unseen)
    progress = Progress()
    if resume and last_path.exists():
        progress = resume_from(loop, last_path)
        if loop.main and progress.epoch < loop.epochs:
            print(f"resuming {out} from epoch {progress.epoch}/{loop.epochs}", flush=True)
    if loop.world > 1:
        loop.model = nn.parallel.DistributedDataParallel(
            loop.model, device_ids=[loop.device.index] if loop.device.type == "cuda" else None)
    if loop.main:
        out.mkdir(parents=True, exist_ok=True)
        config_mod.dump(loop.cfg, out / "config.yaml")
        report = getattr(loop.raw, "weights_report", None)
        if report is not None:  # what --weights loaded: source, sha256, counts and keys
            atomic_write_json(out / "weights.json", report.as_dict())
    writer = (_summary_writer(out) if loop.main and loop.cfg.get("tensorboard", True)
              and progress.epoch < loop.epochs else None)

    t_start = time.time()
    for epoch in range(progress.epoch, loop.epochs):
        record = train_one_epoch(loop, epoch, progress, writer)
        validate_and_checkpoint(loop, epoch, record, progress, writer)
        barrier()
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, record)
    if writer is not None:
        writer.close()

    history = progress.history
    summary = {"epochs": loop.epochs, "steps": progress.step, "steps_per_epoch": len(loop.loader),
               "world_size": loop.world, "best_acc": progress.best_acc, "best_epoch": progress.best_epoch,
               "final_val_acc": history[-1].get("val_acc") if history else None,
               "train_time_s": sum(h["time"] for h in history), "this_session_s": time.time() - t_start,
               "skipped": {f"{split}_set{train_set}": [p.to_dict() for p in getattr(ds, "skipped_problems", [])]
                           for split, ds in (("train", loop.train_ds), ("val", loop.val_ds))},
               "history": history}
    if loop.main:
        atomic_write_json(out / "summary.json", summary)
    return summary


def _model_state(loop: Loop, epoch: int, step: int, val_acc) -> dict:
    state = {"model": loop.raw.state_dict(), "config": loop.cfg, "model_name": loop.cfg["model"],
             "num_classes": len(loop.class_names), "class_names": list(loop.class_names),
             "train_set": loop.train_set, "level": loop.level, "epoch": epoch, "step": step, "val_acc": val_acc,
             "manifest_sha256": loop.manifest_sha256}
    if getattr(loop.raw, "fine_classes", None) is not None:  # disentangled: the fine head's label space
        state["fine_class_names"] = list(loop.raw.fine_classes)
        state["disentangle"] = dict(loop.raw.settings)
    return state


def _summary_writer(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # tensorboard is optional
        return None
    return SummaryWriter(log_dir=str(out / "tb"))
