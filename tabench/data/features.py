"""Frozen-backbone clip features, computed once per dataset (`tabench features`) so that a head on them (CIR)
trains in seconds instead of decoding and encoding every video at every step.

    DATA/features/<model>/features.json          what was extracted: model, backbone weights, clip shape, crop,
                                                  normalisation, the dataset's signature, feature shape, status
    DATA/features/<model>/set1_train.pt ...      one file per (set, split): {"paths": [...], "features": (N, clips, F)}
    DATA/features/<model>/set1_train.part*.pt    chunks of a (set, split) still being extracted

Resumable: chunks are written atomically as they finish and reused on a rerun with the same settings; once a
(set, split) is complete its chunks are merged. A rerun with other settings, or after the videos changed, is
refused with a one-line error instead of mixing features. Training reads them when the config has
`features: DIR` (relative paths are under DATA): `FeatureDataset` then replaces the clip dataset and yields
{"video": (clips, F) features, "label", "index", "path"} in the same order as the clip dataset would.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from tabench import TabenchError
from tabench.io import atomic_path, atomic_write_json

FORMAT = "tabench-clip-features-v1"
SETS_SPLITS = ((1, "train"), (1, "val"), (2, "train"), (2, "val"))
# Config keys that change what a feature file holds (the rest, e.g. the learning rate, do not).
FEATURE_KEYS = ("model", "model_kwargs", "frames", "size", "crop", "sampling", "frame_interval", "mean", "std")


def default_dir(data: str | Path, model: str) -> Path:
    return Path(data) / "features" / model


def resolve_dir(cfg: dict, data: str | Path) -> Path:
    path = Path(cfg["features"])
    return path if path.is_absolute() else Path(data) / path


def _settings(cfg: dict) -> dict:
    return {k: cfg.get(k) for k in FEATURE_KEYS}


def _save(obj, path: Path) -> None:
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(obj, tmp)


def _load(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise TabenchError(f"{path}: not a readable feature file ({type(e).__name__}); delete it and rerun "
                           "`tabench features`") from None


def extract_features(cfg: dict, data: str | Path, out: str | Path | None = None, batch_size: int = 16,
                     chunk: int = 256, progress: bool = True) -> Path:
    """Run the config's model's frozen backbone (`model.extract`) over every train/val video of both sets and
    store its clip features under `out` (default DATA/features/<model>). Returns the folder."""
    from torch.utils.data import DataLoader

    from tabench.data.cache import dataset_signature
    from tabench.data.format import open_dataset
    from tabench.train import build_model, clip_shape, make_dataset, resolve_model, setup

    cfg = resolve_model(cfg)
    if cfg.get("features"):
        raise TabenchError("the config already reads features (`features` is set): extract from videos with a "
                           "config without it")
    if chunk < 1 or batch_size < 1:
        raise TabenchError("chunk and batch size must be positive")
    device, _, _ = setup(cfg)
    torch.manual_seed(int(cfg.get("seed", 0)))
    model = build_model(cfg, 1)
    if not hasattr(model, "extract"):
        raise TabenchError(f"{cfg['model']} is not a model on frozen clip features (no `extract`); "
                           "`tabench features` is for heads such as cir_tiny / cir_slowfast")
    frames, size = clip_shape(cfg, model)
    cfg = {**cfg, "frames": frames, "size": size}
    model.to(device).eval()
    out = Path(out) if out is not None else default_dir(data, cfg["model"])
    ds_all = open_dataset(data)
    signature = dataset_signature(ds_all.root, [e for s, sp in SETS_SPLITS for e in ds_all.select(s, sp)])
    meta_path = out / "features.json"
    meta = {"format": FORMAT, "settings": _settings(cfg), "weights": cfg.get("weights"),
            "dataset_signature": signature, "clips": int(model.clips), "feature_dim": int(model.feature_dim),
            "complete": False}
    if meta_path.is_file():
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        for key in ("format", "settings", "weights", "dataset_signature", "clips", "feature_dim"):
            if old.get(key) != meta[key]:
                raise TabenchError(f"{out} holds features made with other settings or from other videos ({key} "
                                   "differs); pick another --out or delete it")
        if old.get("complete"):
            print(f"features: {out} is complete; nothing to do", flush=True)
            return out
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(meta_path, meta)
    t0, counts = time.time(), {}
    for set_id, split in SETS_SPLITS:
        final = out / f"set{set_id}_{split}.pt"
        entries = ds_all.select(set_id, split)
        counts[f"set{set_id}_{split}"] = len(entries)
        if final.is_file() or not entries:
            continue
        ds = make_dataset({**cfg, "cache_dir": None}, data, set_id, split, "coarse", False, frames, size)
        parts = []
        for start in range(0, len(ds), chunk):
            part = out / f"set{set_id}_{split}.part{start // chunk:05d}.pt"
            parts.append(part)
            if part.is_file():
                continue
            sub = torch.utils.data.Subset(ds, range(start, min(start + chunk, len(ds))))
            loader = DataLoader(sub, batch_size=batch_size, shuffle=False, num_workers=int(cfg.get("workers", 0)))
            paths, feats = [], []
            for batch in loader:
                with torch.no_grad():
                    feats.append(model.extract(batch["video"].to(device)).cpu())
                paths += list(batch["path"])
            _save({"paths": paths, "features": torch.cat(feats)}, part)
            if progress:
                done = min(start + chunk, len(ds))
                print(f"features: set {set_id} {split}: {done}/{len(ds)} videos ({time.time() - t0:.0f}s)",
                      flush=True)
        loaded = [_load(p) for p in parts]
        _save({"paths": [q for d in loaded for q in d["paths"]],
               "features": torch.cat([d["features"] for d in loaded])}, final)
        for p in parts:
            p.unlink(missing_ok=True)
    meta.update(complete=True, counts=counts, extract_s=round(time.time() - t0, 1))
    atomic_write_json(meta_path, meta)
    return out


class FeatureDataset(torch.utils.data.Dataset):
    """The clip features of one (set, split), labelled at `level`, in the clip dataset's order."""

    def __init__(self, folder: str | Path, data: str | Path, set_id: int, split: str, level: str,
                 cfg: dict | None = None):
        from tabench.data.cache import dataset_signature
        from tabench.data.format import open_dataset

        folder = Path(folder)
        meta_path = folder / "features.json"
        if not meta_path.is_file():
            raise TabenchError(f"{folder}: no features here; run `tabench features --data DATA --config CFG` "
                               "first (with the same config minus `features`)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise TabenchError(f"{meta_path}: not a tabench feature folder ({meta.get('format')!r})")
        if not meta.get("complete"):
            raise TabenchError(f"{folder}: feature extraction did not finish; rerun `tabench features` to resume it")
        if cfg is not None:
            want = meta["settings"]
            for key in ("model", "model_kwargs"):
                if cfg.get(key) != want.get(key):
                    raise TabenchError(f"{folder} holds features for {key} {want.get(key)!r}, but the config "
                                       f"trains {cfg.get(key)!r}")
        ds = open_dataset(data)
        all_entries = [e for s, sp in SETS_SPLITS for e in ds.select(s, sp)]
        if dataset_signature(ds.root, all_entries) != meta["dataset_signature"]:
            raise TabenchError(f"{folder}: the videos of {data} changed since these features were made; rerun "
                               "`tabench features` into a new folder")
        self.entries = ds.select(int(set_id), split)
        self.level, self.meta = level, meta
        stored = _load(folder / f"set{int(set_id)}_{split}.pt")
        row = {p: i for i, p in enumerate(stored["paths"])}
        missing = [e.path for e in self.entries if e.path not in row]
        if missing:
            raise TabenchError(f"{folder}: no features for {len(missing)} videos of set {set_id} {split} "
                               f"(e.g. {missing[0]}); rerun `tabench features` into a new folder")
        self.features = stored["features"][[row[e.path] for e in self.entries]].float()
        self.num_classes = ds.taxonomy.num_classes(int(set_id), level)

    def __len__(self) -> int:
        return len(self.entries)

    def set_epoch(self, epoch: int) -> None:  # features are fixed: nothing varies per epoch
        pass

    def __getitem__(self, i: int) -> dict:
        e = self.entries[i]
        return {"video": self.features[i], "label": e.label(self.level), "index": i, "path": e.path}
