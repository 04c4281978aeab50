"""The training loop: one flat, readable loop (nanoGPT style) for CPU and GPU, one process or DDP.

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
"""
from __future__ import annotations

import contextlib
import math
import os
import random
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from tabench import TabenchError
from tabench.io import atomic_path, atomic_write_json
from tabench.metrics import mean_class_accuracy, topk_accuracy

CHECKPOINT_LAST = "last.pt"
CHECKPOINT_BEST = "best.pt"


# ----------------------------------------------------------------------------------------------------------
# processes, devices, seeds

def dist_env() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from the variables torchrun sets; (0, 1, 0) when run directly."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))


def setup(cfg: dict) -> tuple[torch.device, int, int]:
    """Pick the device, start the process group under torchrun (once), apply threads and determinism."""
    rank, world, local_rank = dist_env()
    if torch.cuda.is_available() and cfg.get("device", "auto") != "cpu":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
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

def build_model(cfg: dict, num_classes: int) -> nn.Module:
    from tabench.models import DEFAULT_CPU_MODEL, create_model

    name = cfg.get("model") or DEFAULT_CPU_MODEL
    return create_model(name, num_classes, weights=cfg.get("weights"), **(cfg.get("model_kwargs") or {}))


def clip_shape(cfg: dict, model: nn.Module) -> tuple[int, int]:
    """(frames, size): the config's, else the model's defaults."""
    frames = cfg.get("frames") or getattr(model, "default_frames", None) or 8
    size = cfg.get("size") or getattr(model, "default_size", None) or 112
    return int(frames), int(size)


def make_dataset(cfg: dict, data: str | Path, set_id: int, split: str, level: str, train: bool,
                 frames: int, size: int, views: tuple[int, int] = (1, 1)):
    from tabench.data.clips import ClipDataset

    kw = {}
    if cfg.get("mean") is not None:
        kw["mean"] = tuple(cfg["mean"])
    if cfg.get("std") is not None:
        kw["std"] = tuple(cfg["std"])
    cache = cfg.get("cache_dir")
    if cache is not None and not Path(cache).is_absolute():
        cache = str(Path(data) / cache)
    return ClipDataset(str(data), set_id=set_id, split=split, level=level, num_frames=frames, size=size,
                       train=train, sampling=cfg.get("sampling", "segment"),
                       frame_interval=int(cfg.get("frame_interval", 2)), num_clips=views[0], num_crops=views[1],
                       hflip=bool(cfg.get("hflip")) and train, cache_dir=cache,
                       skip_corrupt=bool(cfg.get("skip_corrupt")), seed=int(cfg.get("seed", 0)),
                       crop=cfg.get("crop") or "center", crop_scale=cfg.get("crop_scale"), **kw)


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def set_label_texts(model: nn.Module, names: list[str]) -> None:
    """Give a video-text model its label space as texts; a no-op for classifiers with a fixed head."""
    m = unwrap(model)
    if hasattr(m, "set_class_texts"):
        m.set_class_texts(list(names))


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
# evaluation

def _forward_views(model: nn.Module, video: torch.Tensor) -> torch.Tensor:
    """Logits for (B,3,T,H,W), or class probabilities averaged over views for (B,V,3,T,H,W)."""
    if video.ndim == 6:
        b, v = video.shape[:2]
        logits = model(video.flatten(0, 1)).float()
        return logits.softmax(-1).view(b, v, -1).mean(1).log()
    return model(video).float()


@torch.no_grad()
def predict(model: nn.Module, ds, device: torch.device, batch_size: int, workers: int = 0,
            amp_dtype: torch.dtype | None = None, progress: bool = False, desc: str = "eval") -> dict:
    """Scores for every clip of `ds`, sharded over the DDP ranks and gathered on all of them.
    Returns {"index", "path", "true", "pred", "scores"} in dataset order."""
    from torch.utils.data import DataLoader, Subset

    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    m = unwrap(model)
    was_training = m.training
    m.eval()
    shard = Subset(ds, list(range(rank, len(ds), world)))
    loader = DataLoader(shard, batch_size=batch_size, shuffle=False, num_workers=workers,
                        pin_memory=device.type == "cuda")
    rows = []
    it = loader
    if progress and rank == 0:
        from tqdm import tqdm
        it = tqdm(loader, desc=desc, leave=False, dynamic_ncols=True)
    for batch in it:
        video = batch["video"].to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            scores = _forward_views(m, video)
        for i, path, y, s in zip(batch["index"].tolist(), batch["path"], batch["label"].tolist(), scores.cpu()):
            rows.append((int(i), path, int(y), s))
    if world > 1:
        gathered = [None] * world
        dist.all_gather_object(gathered, rows)
        rows = [r for part in gathered for r in part]
    rows.sort(key=lambda r: r[0])
    m.train(was_training)
    scores = torch.stack([r[3] for r in rows]) if rows else torch.zeros(0, 0)
    return {"index": [r[0] for r in rows], "path": [r[1] for r in rows], "true": [r[2] for r in rows],
            "pred": scores.argmax(1).tolist() if rows else [], "scores": scores}


def summarize_predictions(out: dict) -> dict:
    """Top-1, top-5 and mean-class accuracy (percent) of a `predict` result."""
    if not out["true"]:
        raise TabenchError("nothing to evaluate: the evaluation split is empty")
    t, p = np.array(out["true"]), np.array(out["pred"])
    return {"top1": float(100.0 * np.mean(t == p)),
            "top5": topk_accuracy(t, out["scores"].numpy(), k=5),
            "mean_class": mean_class_accuracy(t, p), "n": int(len(t))}


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
        raise TabenchError(f"{path}: not a readable tabench checkpoint ({type(e).__name__})") from None


def load_trained_model(run_dir: str | Path, which: str = "last", device="cpu") -> tuple[nn.Module, dict]:
    """Rebuild the model of a training run and load its `last.pt` or `best.pt` weights."""
    ckpt = load_checkpoint(Path(run_dir) / (CHECKPOINT_BEST if which == "best" else CHECKPOINT_LAST))
    cfg = {**ckpt["config"], "weights": None}
    model = build_model(cfg, int(ckpt["num_classes"]))
    model.load_state_dict(ckpt["model"])
    return model.to(device), ckpt


# ----------------------------------------------------------------------------------------------------------
# the loop

def train(cfg: dict, data: str | Path, train_set: int, out: str | Path, level: str = "coarse",
          resume: bool = False, on_epoch_end: Callable[[int, dict], None] | None = None) -> dict:
    """Train on Set `train_set`'s train split, validate on its val split; write checkpoints, logs and
    config.yaml under `out`. Returns a summary (also written to out/summary.json).

    `resume`: continue from out/last.pt if present (a finished run returns at once). Without it an existing
    last.pt is an error, so a run is never overwritten by accident. `on_epoch_end(epoch, record)` is called on
    every rank after each epoch's checkpoint is written."""
    from torch.utils.data import DataLoader, DistributedSampler

    from tabench import config as config_mod
    from tabench.data.format import open_dataset

    out = Path(out)
    if train_set not in (1, 2):
        raise TabenchError(f"--train-set must be 1 or 2, got {train_set}")
    if level not in ("coarse", "fine"):
        raise TabenchError(f"--level must be coarse or fine, got {level!r}")
    taxonomy = open_dataset(data).taxonomy
    class_names = taxonomy.labels(train_set, level)
    last_path = out / CHECKPOINT_LAST
    if last_path.exists() and not resume:
        raise TabenchError(f"{out} already holds a training run; pass --resume to continue it or pick another --out")

    device, rank, world = setup(cfg)
    main = rank == 0
    seed = int(cfg["seed"])
    seed_all(seed)

    # ---- model (identical initial weights on every rank: same seed; DDP also broadcasts rank 0's)
    model = build_model(cfg, len(class_names))
    frames, size = clip_shape(cfg, model)
    cfg = {**cfg, "model": cfg.get("model") or _default_model_name(), "frames": frames, "size": size}
    set_label_texts(model, class_names)
    model.to(device)

    # ---- data
    train_ds = make_dataset(cfg, data, train_set, "train", level, True, frames, size)
    val_ds = make_dataset(cfg, data, train_set, "val", level, False, frames, size,
                          views=(int(cfg["eval_clips"]), int(cfg["eval_crops"])))
    if len(train_ds) == 0:
        raise TabenchError(f"{data}: Set {train_set} has no training videos")
    batch_size = int(cfg["batch_size"])
    sampler = DistributedSampler(train_ds, num_replicas=world, rank=rank, shuffle=True, seed=seed)
    drop_last = len(sampler) >= batch_size  # at least one full batch: avoids a last batch of 1 (BatchNorm)
    loader_gen = torch.Generator()
    workers = int(cfg["workers"])
    train_loader = DataLoader(train_ds, batch_size=batch_size, sampler=sampler, num_workers=workers,
                              drop_last=drop_last, pin_memory=device.type == "cuda", generator=loader_gen,
                              worker_init_fn=_seed_worker, persistent_workers=False)
    steps_per_epoch = len(train_loader)
    epochs = int(cfg["epochs"])
    total_steps = epochs * steps_per_epoch
    warmup_steps = int(round(float(cfg["warmup_epochs"]) * steps_per_epoch))

    # ---- optimisation
    optimizer = build_optimizer(cfg, model)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, total_steps, warmup_steps, float(cfg["min_lr_ratio"])))
    amp_dtype, use_scaler = amp_setup(cfg, device)
    scaler = torch.amp.GradScaler(device.type, enabled=use_scaler)
    smoothing = float(cfg["label_smoothing"])
    clip_grad = float(cfg["clip_grad"] or 0.0)

    # ---- resume
    start_epoch, step, best_acc, best_epoch, history = 0, 0, -1.0, -1, []
    if resume and last_path.exists():
        ckpt = load_checkpoint(last_path)  # on CPU: RNG states must stay CPU tensors
        if ckpt.get("num_classes") != len(class_names) or ckpt.get("train_set") != train_set:
            raise TabenchError(f"{last_path} is from a different run (set/classes differ); pick another --out")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        start_epoch, step = int(ckpt["epoch"]), int(ckpt["step"])
        best_acc, best_epoch = float(ckpt["best_acc"]), int(ckpt["best_epoch"])
        history = list(ckpt["history"])
        set_rng_state(ckpt["rng"])
        if main and start_epoch < epochs:
            print(f"resuming {out} from epoch {start_epoch}/{epochs}", flush=True)

    if world > 1:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    raw = unwrap(model)
    if main:
        out.mkdir(parents=True, exist_ok=True)
        config_mod.dump(cfg, out / "config.yaml")
    writer = _summary_writer(out) if main and cfg.get("tensorboard", True) and start_epoch < epochs else None
    progress = bool(cfg.get("progress", True)) and main

    t_start = time.time()
    for epoch in range(start_epoch, epochs):
        # Everything random in this epoch derives from (seed, epoch, rank): resume-exact.
        seed_all(_epoch_seed(seed, epoch, rank))
        loader_gen.manual_seed(_epoch_seed(seed, epoch, rank))
        sampler.set_epoch(epoch)
        if hasattr(train_ds, "set_epoch"):
            train_ds.set_epoch(epoch)
        model.train()
        t0 = time.time()
        loss_sum, correct, seen = torch.zeros((), device=device), torch.zeros((), device=device), 0
        it = train_loader
        if progress:
            from tqdm import tqdm
            it = tqdm(train_loader, desc=f"train set {train_set} epoch {epoch + 1}/{epochs}", leave=False,
                      dynamic_ncols=True)
        for batch in it:
            x = batch["video"].to(device, non_blocking=True)
            y = batch["label"].to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = model(x)
                loss = F.cross_entropy(logits.float(), y, label_smoothing=smoothing)
                if hasattr(raw, "auxiliary_loss"):
                    aux = raw.auxiliary_loss(y)  # labels: ActionCLIP's KL loss pairs same-class clips
                    if aux is not None:
                        loss = loss + aux
            if not torch.isfinite(loss):
                raise TabenchError(f"loss became {loss.item()} at epoch {epoch + 1} step {step}; "
                                   "lower --lr or enable --clip-grad")
            scaler.scale(loss).backward()
            if clip_grad > 0:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(raw.parameters(), clip_grad)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            step += 1
            loss_sum += loss.detach() * y.numel()
            correct += (logits.detach().argmax(1) == y).sum()
            seen += y.numel()
            if progress:
                it.set_postfix(loss=f"{loss.item():.3f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
            if writer is not None and step % int(cfg["log_every"]) == 0:
                writer.add_scalar("train/loss", loss.item(), step)
                writer.add_scalar("train/lr", scheduler.get_last_lr()[0], step)
        if world > 1:
            stats = torch.stack([loss_sum, correct, torch.tensor(float(seen), device=device)])
            dist.all_reduce(stats)
            loss_sum, correct, seen = stats[0], stats[1], int(stats[2].item())
        train_loss = float(loss_sum / max(seen, 1))
        train_acc = float(100.0 * correct / max(seen, 1))
        record = {"epoch": epoch + 1, "step": step, "train_loss": train_loss, "train_acc": train_acc,
                  "lr": float(scheduler.get_last_lr()[0]), "time": time.time() - t0}

        val_every = int(cfg["val_every"])
        if epoch + 1 == epochs or (val_every > 0 and (epoch + 1) % val_every == 0):
            set_label_texts(model, class_names)
            res = summarize_predictions(predict(model, val_ds, device, batch_size, workers, amp_dtype,
                                                progress=progress, desc="validate"))
            record.update(val_acc=res["top1"], val_top5=res["top5"], val_mean_class=res["mean_class"])
            if res["top1"] > best_acc:
                best_acc, best_epoch = res["top1"], epoch + 1
                if main:
                    save_checkpoint(out / CHECKPOINT_BEST, _model_state(raw, cfg, train_set, level, class_names,
                                                                         epoch + 1, step, res["top1"]))
        history.append(record)

        if main:
            state = _model_state(raw, cfg, train_set, level, class_names, epoch + 1, step, record.get("val_acc"))
            state.update(optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(),
                         scaler=scaler.state_dict(), best_acc=best_acc, best_epoch=best_epoch,
                         history=history, rng=rng_state(), world_size=world)
            save_checkpoint(last_path, state)
            msg = f"set {train_set} epoch {epoch + 1}/{epochs}: loss {train_loss:.3f}, train acc {train_acc:.1f}%"
            if "val_acc" in record:
                msg += f", val acc {record['val_acc']:.1f}%"
            print(msg + f" ({record['time']:.0f}s)", flush=True)
            if writer is not None:
                for k in ("train_loss", "train_acc", "val_acc", "val_top5", "val_mean_class"):
                    if k in record:
                        writer.add_scalar(k.replace("_", "/", 1), record[k], epoch + 1)
                writer.flush()
        barrier()
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, record)

    if writer is not None:
        writer.close()
    summary = {"epochs": epochs, "steps": step, "steps_per_epoch": steps_per_epoch, "world_size": world,
               "best_acc": best_acc, "best_epoch": best_epoch,
               "final_val_acc": history[-1].get("val_acc") if history else None,
               "train_time_s": sum(h["time"] for h in history), "this_session_s": time.time() - t_start,
               "history": history}
    if main:
        atomic_write_json(out / "summary.json", summary)
    return summary


def _model_state(raw: nn.Module, cfg: dict, train_set: int, level: str, class_names: list[str], epoch: int,
                 step: int, val_acc) -> dict:
    return {"model": raw.state_dict(), "config": cfg, "model_name": cfg["model"], "num_classes": len(class_names),
            "class_names": list(class_names), "train_set": train_set, "level": level, "epoch": epoch,
            "step": step, "val_acc": val_acc}


def _default_model_name() -> str:
    from tabench.models import DEFAULT_CPU_MODEL
    return DEFAULT_CPU_MODEL


def _summary_writer(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # tensorboard is optional
        return None
    return SummaryWriter(log_dir=str(out / "tb"))
