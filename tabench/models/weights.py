"""Load a local checkpoint into a tabench model, whatever layout the official code saved it in.

Accepted layouts: a plain state dict (pytorchvideo hub), {"model_state": ...} (PySlowFast), {"state_dict": ...}
(mmaction, Lightning), {"model": ...} / {"module": ...} (DeiT/DeepSpeed style). "module." prefixes (DataParallel)
are stripped, and when the checkpoint's keys carry a different top-level prefix than the model (e.g. "visual." or
"resnet." vs our "backbone."), the renaming that matches most keys is used. A classifier whose shape differs (other
class count) is skipped and reported, never loaded half-way. Loading uses `torch.load(weights_only=True)`: a
checkpoint cannot run code."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch
from torch import nn

from tabench import TabenchError

_WRAPPER_KEYS = ("model_state", "state_dict", "model", "module", "model_state_dict", "net")


@dataclasses.dataclass
class WeightsReport:
    """What happened when loading: counts and the exact keys, so a silent half-load cannot go unnoticed."""

    path: str
    loaded: list[str]
    missing: list[str]
    unexpected: list[str]
    mismatched: list[tuple[str, tuple, tuple]]  # (key, checkpoint shape, model shape), classifier excluded
    skipped_head: list[str]
    renamed: str = ""  # description of the prefix renaming applied, if any

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def __str__(self) -> str:
        def short(keys, n=8):
            keys = list(keys)
            return ", ".join(keys[:n]) + (f", ... (+{len(keys) - n})" if len(keys) > n else "")

        lines = [f"weights {self.path}: loaded {len(self.loaded)} tensors"]
        if self.renamed:
            lines.append(f"  renamed keys: {self.renamed}")
        if self.skipped_head:
            lines.append(f"  classifier skipped (shape differs, stays randomly initialised): {short(self.skipped_head)}")
        if self.mismatched:
            lines.append(f"  shape mismatch, not loaded ({len(self.mismatched)}): "
                         + short(f"{k} {tuple(a)} vs {tuple(b)}" for k, a, b in self.mismatched))
        if self.missing:
            lines.append(f"  missing in checkpoint ({len(self.missing)}): {short(self.missing)}")
        if self.unexpected:
            lines.append(f"  unexpected in checkpoint ({len(self.unexpected)}): {short(self.unexpected)}")
        if self.ok and not self.skipped_head:
            lines.append("  all keys matched")
        return "\n".join(lines)


def _is_state_dict(obj) -> bool:
    return isinstance(obj, dict) and len(obj) > 0 and all(isinstance(v, torch.Tensor) for v in obj.values())


def extract_state_dict(ckpt, path: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Find the tensors in a loaded checkpoint object (plain, or wrapped under a known key)."""
    for _ in range(3):  # wrappers can nest, e.g. {"state_dict": {"model": ...}}
        if _is_state_dict(ckpt):
            return dict(ckpt)
        if not isinstance(ckpt, dict):
            break
        inner = next((ckpt[k] for k in _WRAPPER_KEYS if isinstance(ckpt.get(k), dict)), None)
        if inner is None:
            break
        ckpt = inner
    if isinstance(ckpt, dict) and any(isinstance(v, torch.Tensor) for v in ckpt.values()):
        return {k: v for k, v in ckpt.items() if isinstance(v, torch.Tensor)}
    raise TabenchError(f"{path}: no state dict found (expected tensors, or one under {', '.join(_WRAPPER_KEYS)})")


def _strip(state: dict, prefix: str) -> dict:
    return {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in state.items()}


def _best_renaming(state: dict, model_keys: set[str]) -> tuple[dict, str]:
    """Try prefix renamings of the checkpoint's top-level names; keep the one matching the most model keys."""
    best, best_desc, best_hits = state, "", len(state.keys() & model_keys)
    prefixes = sorted({k.split(".", 1)[0] + "." for k in state if "." in k})
    candidates = [("", "backbone.")]
    for p in prefixes[:20]:
        candidates += [(p, ""), (p, "backbone.")]
    for old, new in candidates:
        renamed = {(new + k[len(old):]) if k.startswith(old) else k: v for k, v in state.items()}
        hits = len(renamed.keys() & model_keys)
        if hits > best_hits:
            best, best_hits = renamed, hits
            best_desc = f"'{old or '<none>'}' -> '{new or '<none>'}'"
    return best, best_desc


def load_weights(model: nn.Module, path: str | os.PathLike, strict: bool = False, verbose: bool = True) -> WeightsReport:
    """Load a local checkpoint into `model` in place and return (and, if verbose, print) a report.

    With strict=True any missing, unexpected or shape-mismatched key (the classifier excepted) raises TabenchError."""
    p = Path(path)
    if not p.is_file():
        raise TabenchError(f"weights file not found: {p}")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # torch.load raises many types on a non-checkpoint (UnpicklingError, IndexError, ...)
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TabenchError(f"{p}: not a readable PyTorch checkpoint ({msg[:160]})") from e
    state = _strip(extract_state_dict(ckpt, str(p)), "module.")
    model_state = model.state_dict()
    state, renamed = _best_renaming(state, set(model_state))
    if not state.keys() & set(model_state):
        raise TabenchError(f"{p}: none of its {len(state)} tensors matches a parameter of "
                           f"{type(model).__name__} (wrong model?)")
    head = model.classifier_keys() if hasattr(model, "classifier_keys") else set()
    to_load, mismatched, skipped_head = {}, [], []
    for k, v in state.items():
        if k in model_state and tuple(v.shape) != tuple(model_state[k].shape):
            if k in head:
                skipped_head.append(k)
            else:
                mismatched.append((k, tuple(v.shape), tuple(model_state[k].shape)))
        else:
            to_load[k] = v
    result = model.load_state_dict(to_load, strict=False)
    missing = [k for k in result.missing_keys if k not in skipped_head and k not in {m[0] for m in mismatched}]
    report = WeightsReport(
        path=str(p),
        loaded=sorted(to_load.keys() & set(model_state)),
        missing=sorted(missing),
        unexpected=sorted(result.unexpected_keys),
        mismatched=mismatched,
        skipped_head=sorted(skipped_head),
        renamed=renamed,
    )
    if verbose:
        print(report)
    if strict and not report.ok:
        raise TabenchError(f"{p}: checkpoint does not match the model exactly (strict):\n{report}")
    return report
