"""Training configuration: built-in defaults, a YAML file, then command-line overrides.

A config is one flat dict (plus `model_kwargs`, passed to the model builder), so that every key can be set the
same way from a file, from a dedicated flag (`--epochs 5`) or generically (`--set label_smoothing=0.1`,
`--set model_kwargs.dropout=0.2`). Unknown keys are refused rather than silently ignored: a typo in a config
would otherwise train a different model than the one the user meant. The resolved config is written next to
each run (`config.yaml`) so a result can always be traced back to its settings.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import yaml

from tabench import TabenchError
from tabench.io import atomic_write_text

DEFAULTS: dict = {
    "model": None,            # registry name; None = tabench.models.DEFAULT_CPU_MODEL
    "weights": None,          # a local checkpoint to start from (tabench.models.load_weights)
    "weights_strict": True,   # refuse a checkpoint that leaves any non-head tensor unloaded; false = partial on purpose
    "device": "auto",         # auto (a GPU when there is one) | cpu | cuda | cuda:N (under torchrun: cuda:LOCAL_RANK)
    "model_kwargs": {},       # extra builder arguments
    # The clip input: None = the model's registry entry (`tabench models show NAME`); the run's config.yaml
    # records the values used.
    "frames": None,           # clip length T
    "size": None,             # crop size
    "sampling": None,         # segment (TSN) | dense
    "frame_interval": None,   # for dense sampling
    "mean": None,             # per-channel normalisation of [0, 1] pixels (CLIP's for CLIP-initialised models)
    "std": None,
    "crop": "center",         # center (random resized crop / centre crop) | full (the whole frame; Syn-TA)
    "crop_scale": None,       # [min, max] area of the train-time crop; None = [0.25, 1] (center), [0.6, 1] (full)
    "hflip": False,           # off by default: flipping turns "left to right" into "right to left"
    "epochs": 10,
    "batch_size": 8,
    "optimizer": "adamw",     # adamw | sgd
    "lr": 1e-3,
    "weight_decay": 0.05,
    "momentum": 0.9,          # sgd only
    "warmup_epochs": 1.0,     # linear warm-up, then cosine decay to min_lr_ratio * lr
    "min_lr_ratio": 0.01,
    "label_smoothing": 0.0,
    "clip_grad": 1.0,         # max gradient norm; 0 or null disables clipping
    "amp": "auto",            # auto (bf16, or fp16 + GradScaler, on GPU; off on CPU) | bf16 | fp16 | off
    "workers": 2,             # DataLoader worker processes
    "threads": None,          # torch intra-op threads per process; None = torch's default
    "seed": 0,
    "deterministic": False,   # torch.use_deterministic_algorithms(True), seeded workers
    "val_every": 1,           # validate every N epochs (and always after the last); 0 = only after the last
    "eval_clips": 1,          # test-time views: temporal clips x spatial crops, softmax-averaged
    "eval_crops": 1,
    "eval_checkpoint": "last",  # which weights the protocol runner evaluates: last | best (see docs/training.md)
    "cache_dir": None,        # pre-decoded clip cache (tabench.data.cache); relative paths are under DATA
    "features": None,         # read frozen-backbone clip features (`tabench features`) instead of videos; under DATA
    "skip_corrupt": False,
    # video-text label space (tabench.classtext): templates | name | motion | motion_masked | definition |
    # enriched | a .json/.csv file; None = the model's own (class-name templates; CoCo: enriched)
    "class_text": None,
    "class_text_alpha": 0.5,  # enriched: weight of the definition against the mean of the descriptions
    "class_text_k": None,     # enriched: how many descriptions (top-k by similarity to the name); None = all
    "text_classifier": "learned",  # learned | frozen (seed 003: fixed class-text prototypes, video side trains)
    "transductive": False,    # methods that use the unseen classes' texts in training (CoCo's CIM) get them
    "log_every": 10,          # steps between TensorBoard scalars
    "tensorboard": True,
    "progress": True,         # tqdm progress bars
    "disentangle": None,      # coarse/fine branches (tabench.models.disentangle): {blocks: N, fine_weight: w}; null = off
}

CHOICES = {
    "sampling": ("segment", "dense"),
    "crop": ("center", "full"),
    "optimizer": ("adamw", "sgd"),
    "amp": ("auto", "bf16", "fp16", "off"),
    "eval_checkpoint": ("last", "best"),
    "text_classifier": ("learned", "frozen"),
}


# (min, max, min excluded, max excluded) of the numeric keys: a value outside trains nothing sensible, or
# crashes mid-run (label_smoothing 1 makes every target uniform: the loss no longer depends on the label)
FLOAT_RANGES = {
    "lr": (0.0, None, True, False),
    "weight_decay": (0.0, None, False, False),
    "momentum": (0.0, 1.0, False, False),
    "warmup_epochs": (0.0, None, False, False),
    "min_lr_ratio": (0.0, 1.0, False, False),
    "label_smoothing": (0.0, 1.0, False, True),
    "clip_grad": (0.0, None, False, False),
}


def _range_text(lo, hi, lo_open, hi_open=False) -> str:
    if hi is None:
        return "a positive number" if lo_open else f"a number >= {lo:g}"
    return f"between {lo:g} and {hi:g}" + (f" ({hi:g} excluded)" if hi_open else "")


DISENTANGLE_DEFAULTS = {"blocks": None, "fine_weight": 1.0}


def check_disentangle(value, source: str = "config") -> dict | None:
    """The `disentangle` config value: null (off), or a mapping with `blocks` (>= 1 or null = the model's
    default) and `fine_weight` (>= 0)."""
    if value is None or value is False:
        return None
    if value is True:
        return dict(DISENTANGLE_DEFAULTS)
    if not isinstance(value, dict):
        raise TabenchError(f"{source}: disentangle must be a mapping {{blocks: N, fine_weight: w}}, got {value!r}")
    unknown = set(value) - set(DISENTANGLE_DEFAULTS)
    if unknown:
        raise TabenchError(f"{source}: unknown disentangle key {sorted(unknown)[0]!r}; known: blocks, fine_weight")
    out = {**DISENTANGLE_DEFAULTS, **value}
    b, w = out["blocks"], out["fine_weight"]
    if b is not None and (isinstance(b, bool) or not isinstance(b, int) or b < 1):
        raise TabenchError(f"{source}: disentangle.blocks must be a positive integer or null, got {b!r}")
    if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
        raise TabenchError(f"{source}: disentangle.fine_weight must be a number >= 0, got {w!r}")
    out["fine_weight"] = float(w)
    return out


def default_config() -> dict:
    return copy.deepcopy(DEFAULTS)


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise TabenchError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise TabenchError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TabenchError(f"{path}: a config must be a mapping of key: value")
    return data


def merge(cfg: dict, updates: dict, source: str = "config") -> dict:
    """Return cfg updated with `updates`, refusing unknown keys and values of the wrong type."""
    out = copy.deepcopy(cfg)
    for key, value in updates.items():
        if key not in DEFAULTS:
            raise TabenchError(f"{source}: unknown config key {key!r}; known keys: {', '.join(DEFAULTS)}")
        if key == "disentangle":
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                value = {**out[key], **value}
            out[key] = check_disentangle(value, source)
            continue
        if key == "model_kwargs":
            if not isinstance(value, dict):
                raise TabenchError(f"{source}: model_kwargs must be a mapping")
            out[key] = {**out.get(key, {}), **value}
            continue
        out[key] = _check_value(key, value, source)
    return out


def _check_value(key: str, value, source: str):
    default = DEFAULTS[key]
    if value is None:
        return None
    if key in CHOICES and value not in CHOICES[key]:
        raise TabenchError(f"{source}: {key} must be one of {', '.join(CHOICES[key])}, got {value!r}")
    if key == "device":
        if not (isinstance(value, str) and re.fullmatch(r"auto|cpu|cuda(:\d+)?", value)):
            raise TabenchError(f"{source}: device must be auto, cpu, cuda or cuda:N, got {value!r}")
        return value
    if key == "crop_scale":
        if not (isinstance(value, (list, tuple)) and len(value) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
                and 0 < value[0] <= value[1] <= 1):
            raise TabenchError(f"{source}: crop_scale must be [min, max] with 0 < min <= max <= 1, got {value!r}")
        return [float(v) for v in value]
    if key in ("class_text", "class_text_alpha", "class_text_k"):
        from tabench.classtext import check_source

        try:
            check_source({key: value})
        except TabenchError as e:
            raise TabenchError(f"{source}: {e}") from None
        return float(value) if key == "class_text_alpha" else value
    if key in ("mean", "std"):
        if not (isinstance(value, (list, tuple)) and len(value) == 3
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
            raise TabenchError(f"{source}: {key} must be a list of 3 numbers, got {value!r}")
        if key == "std" and min(value) <= 0:
            raise TabenchError(f"{source}: std must be positive, got {value!r}")
        return [float(v) for v in value]
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise TabenchError(f"{source}: {key} must be true or false, got {value!r}")
    elif isinstance(default, float) or key == "clip_grad":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TabenchError(f"{source}: {key} must be a number, got {value!r}")
        value = float(value)
        lo, hi, lo_open, hi_open = FLOAT_RANGES.get(key, (None, None, False, False))
        if value != value or value in (float("inf"), float("-inf")) or (lo is not None and (
                value < lo or (lo_open and value == lo))) or (hi is not None and (
                value > hi or (hi_open and value == hi))):
            raise TabenchError(f"{source}: {key} must be {_range_text(lo, hi, lo_open, hi_open)}, got {value!r}")
    elif isinstance(default, int) or key in ("frames", "size", "threads", "frame_interval"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TabenchError(f"{source}: {key} must be an integer, got {value!r}")
        positive = key in ("epochs", "batch_size", "frames", "size", "threads", "frame_interval", "eval_clips",
                           "eval_crops", "log_every")
        if value < 0 or (positive and value < 1):
            raise TabenchError(f"{source}: {key} must be {'positive' if positive else 'an integer >= 0'}, "
                               f"got {value}")
    elif key in ("model", "weights", "cache_dir", "features") and not isinstance(value, str):
        raise TabenchError(f"{source}: {key} must be a string, got {value!r}")
    return value


def parse_set(items: list[str] | None) -> dict:
    """`--set key=value` items to a dict; values are parsed as YAML (numbers, true/false, null, lists)."""
    out: dict = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise TabenchError(f"--set expects key=value, got {item!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        if key.startswith(("model_kwargs.", "disentangle.")):
            group, sub = key.split(".", 1)
            out.setdefault(group, {})[sub] = value
        else:
            out[key] = value
    return out


def resolve(config_file: str | Path | None = None, overrides: dict | None = None,
            sets: list[str] | None = None) -> dict:
    """Defaults <- YAML file <- dedicated flags (`overrides`, None values ignored) <- `--set` items."""
    cfg = default_config()
    if config_file:
        cfg = merge(cfg, load_yaml(config_file), source=str(config_file))
    if overrides:
        cfg = merge(cfg, {k: v for k, v in overrides.items() if v is not None}, source="command line")
    if sets:
        cfg = merge(cfg, parse_set(sets), source="--set")
    return cfg


def dump(cfg: dict, path: str | Path) -> None:
    atomic_write_text(path, yaml.safe_dump(cfg, sort_keys=False))


def add_config_arguments(p, *, with_model: bool = True) -> None:
    """The flags shared by `tabench train` and `tabench benchmark`."""
    p.add_argument("--config", metavar="FILE", help="YAML config (see configs/); flags below override it")
    if with_model:
        p.add_argument("--model", help="model name (`tabench models list`); default: the CPU default model")
        p.add_argument("--weights", metavar="PATH", help="start from a local checkpoint")
    p.add_argument("--epochs", type=int, help="training epochs")
    p.add_argument("--batch-size", type=int, help="clips per batch (per process under torchrun)")
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--optimizer", choices=CHOICES["optimizer"], help="optimizer")
    p.add_argument("--weight-decay", type=float, help="weight decay")
    p.add_argument("--warmup-epochs", type=float, help="linear warm-up length in epochs")
    p.add_argument("--label-smoothing", type=float, help="label smoothing of the cross-entropy")
    p.add_argument("--clip-grad", type=float, help="max gradient norm (0 disables)")
    p.add_argument("--frames", type=int, help="frames per clip (default: the model's)")
    p.add_argument("--size", type=int, help="crop size in pixels (default: the model's)")
    p.add_argument("--workers", type=int, help="data loading worker processes")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--amp", choices=CHOICES["amp"], help="mixed precision (GPU)")
    p.add_argument("--deterministic", action="store_true", default=None,
                   help="deterministic algorithms and seeded workers (slower; exact resume)")
    p.add_argument("--cache-dir", help="pre-decoded clip cache folder (relative paths are under DATA)")
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                   help="no progress bars")
    p.add_argument("--disentangle", action="store_true", default=None,
                   help="coarse/fine disentanglement (paper Sec. 3.5): duplicate the model's last blocks into a "
                        "coarse and a fine branch, the fine one trained on the training videos' fine labels; "
                        "settings: --set disentangle.blocks=N --set disentangle.fine_weight=W")
    p.add_argument("--set", dest="set_items", action="append", metavar="KEY=VALUE", default=[],
                   help="any config key (repeatable), e.g. --set label_smoothing=0.1 --set model_kwargs.dropout=0.2")


OVERRIDE_FLAGS = ("model", "weights", "epochs", "batch_size", "lr", "optimizer", "weight_decay", "warmup_epochs",
                  "label_smoothing", "clip_grad", "frames", "size", "workers", "seed", "amp", "deterministic",
                  "cache_dir", "progress")


def from_args(args) -> dict:
    overrides = {k: getattr(args, k, None) for k in OVERRIDE_FLAGS}
    cfg = resolve(getattr(args, "config", None), overrides, getattr(args, "set_items", None))
    if getattr(args, "disentangle", None) and cfg.get("disentangle") is None:
        cfg = merge(cfg, {"disentangle": True}, source="--disentangle")
    return cfg
