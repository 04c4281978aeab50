"""Load a local checkpoint into a tabench model exactly, or refuse it.

Accepted sources: a checkpoint file saved with torch.save (read with `torch.load(weights_only=True)`: it cannot
run code) as a plain state dict (pytorchvideo hub), {"model_state": ...} (PySlowFast), {"state_dict": ...}
(mmaction, Lightning), {"model": ...} / {"module": ...}; a `.safetensors` file; a TorchScript archive (OpenAI's
`ViT-B-16.pt`: only its tensors are read, with `torch.jit.load`, whose TorchScript is not Python and is not run);
a Hugging Face model directory (`save_pretrained`: config.json + model.safetensors or pytorch_model.bin).
"module." prefixes (DataParallel) are stripped; a known foreign layout is renamed by its key map
(`tabench.models.keymaps`: PySlowFast, torchvision ResNet, OpenAI / HF CLIP); otherwise the top-level prefix
renaming that matches most keys is used.

Strict by default: a load that leaves any non-head tensor of the model unloaded (other than the modules a
pretrained layout cannot hold, e.g. AIM's adapters from an image CLIP) or shape-mismatched, or that matches under
half of the model's non-head tensors, is refused with a one-line error saying what matched. A classifier of
another class count is skipped and reported, never loaded half-way; extra checkpoint tensors (CLIP's text tower
for a vision model) are reported as unexpected. `strict=False` (config `weights_strict: false`) loads whatever
matches, on purpose. The report (`WeightsReport.as_dict`) is what runs write to `weights.json`."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import zipfile
from pathlib import Path

import torch
from torch import nn

from tabench import TabenchError

_WRAPPER_KEYS = ("model_state", "state_dict", "model", "module", "model_state_dict", "net")
_HF_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


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
    sha256: str = ""
    layout: str = ""  # the key map used ("PySlowFast native", "OpenAI CLIP", ...) or "" for the model's own names
    new: list[str] = dataclasses.field(default_factory=list)  # model keys the layout cannot hold (fresh init)
    inflated: list[str] = dataclasses.field(default_factory=list)  # 2D kernels inflated to 3D on the way in
    total: int = 0  # the model's non-head tensors (num_batches_tracked counters not counted)
    matched: int = 0  # of those, how many were loaded
    strict: bool = True

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def as_dict(self) -> dict:
        """The JSON form written to RUN/train{k}/weights.json: counts and the exact keys."""
        lists = {"loaded": self.loaded, "missing": self.missing, "unexpected": self.unexpected,
                 "mismatched": [[k, list(a), list(b)] for k, a, b in self.mismatched],
                 "skipped_head": self.skipped_head, "new": self.new, "inflated": self.inflated}
        return {"source": self.path, "sha256": self.sha256, "layout": self.layout or "same names",
                "renamed": self.renamed, "strict": self.strict, "non_head_tensors": self.total,
                "matched_non_head": self.matched, "counts": {k: len(v) for k, v in lists.items()}, **lists}

    def summary(self) -> dict:
        """The short form results.json keeps per direction."""
        return summarize_report(self.as_dict())

    def __str__(self) -> str:
        def short(keys, n=8):
            keys = list(keys)
            return ", ".join(keys[:n]) + (f", ... (+{len(keys) - n})" if len(keys) > n else "")

        lines = [f"weights {self.path}: loaded {len(self.loaded)} tensors"
                 + (f" ({self.matched} of the model's {self.total} non-head tensors)" if self.total else "")
                 + (f", layout {self.layout}" if self.layout else "")]
        if self.new:
            lines.append(f"  new in this architecture, initialised fresh ({len(self.new)}): {short(self.new)}")
        if self.inflated:
            lines.append(f"  inflated 2D -> 3D (centre slice): {short(self.inflated)}")
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


def summarize_report(d: dict) -> dict:
    """A weights.json object without its key lists (what results.json keeps per direction)."""
    return {k: d[k] for k in ("source", "sha256", "layout", "strict", "non_head_tensors", "matched_non_head",
                              "counts") if k in d}


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


def _is_counter(key: str) -> bool:
    """BatchNorm's num_batches_tracked: a step counter, not a weight (torchvision's files omit it)."""
    return key.endswith("num_batches_tracked")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    return any(n.endswith("/constants.pkl") for n in names) or any("/code/" in n for n in names)


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path), device="cpu")


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], Path]:
    """(state dict, the file its tensors came from) for any accepted source (see the module docstring)."""
    p = Path(path)
    if p.is_dir():
        found = next((p / n for n in _HF_WEIGHTS if (p / n).is_file()), None)
        if found is None or not (p / "config.json").is_file():
            raise TabenchError(f"{p}: a weights directory must be a Hugging Face model directory (config.json with "
                               f"{' or '.join(_HF_WEIGHTS)})")
        p = found
    elif not p.is_file():
        raise TabenchError(f"weights file not found: {p}")
    try:
        if p.suffix == ".safetensors":
            return _load_safetensors(p), p
        if _is_torchscript(p):
            return {k: v for k, v in torch.jit.load(str(p), map_location="cpu").state_dict().items()}, p
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except TabenchError:
        raise
    except Exception as e:  # torch.load raises many types on a non-checkpoint (UnpicklingError, IndexError, ...)
        from tabench.io import torch_load_reason

        raise TabenchError(f"{p}: not a readable PyTorch checkpoint ({torch_load_reason(e)})") from None
    return extract_state_dict(ckpt, str(p)), p


def load_weights(model: nn.Module, path: str | os.PathLike, strict: bool = True,
                 verbose: bool = True) -> WeightsReport:
    """Load a local checkpoint (file or HF directory) into `model` in place; return (and, if verbose, print) the
    report. strict (the default) refuses a partial load with a one-line TabenchError (see the module docstring);
    a checkpoint none of whose tensors matches is refused either way."""
    from tabench.models import keymaps

    state, source = read_checkpoint(path)
    state = _strip(state, "module.")
    model_state = model.state_dict()
    mapped = keymaps.apply(state, model)
    new_keys: set[str] = set()
    layout, renamed, inflated = "", "", []
    if mapped is not None:
        state, layout, new_keys, inflated = mapped.state, mapped.layout, mapped.new_keys, mapped.inflated
    else:
        state, renamed = _best_renaming(state, set(model_state))
    name = type(model).__name__
    if not state.keys() & set(model_state):
        raise TabenchError(f"{path}: none of its {len(state)} tensors matches a parameter of {name} (wrong model? "
                           f"first keys: {', '.join(list(state)[:3])})")
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
    bad = set(skipped_head) | {m[0] for m in mismatched}
    # a classifier the checkpoint does not hold (an image CLIP, a backbone-only file) stays fresh: skipped, reported
    skipped_head += [k for k in result.missing_keys if k in head and k not in bad]
    bad |= set(skipped_head)
    missing = [k for k in result.missing_keys if k not in bad]
    loaded = sorted(to_load.keys() & set(model_state))
    non_head = [k for k in model_state if k not in head and not _is_counter(k)]
    report = WeightsReport(
        path=str(path), loaded=loaded,
        missing=sorted(k for k in missing if k not in new_keys),
        unexpected=sorted(result.unexpected_keys), mismatched=mismatched, skipped_head=sorted(skipped_head),
        renamed=renamed, sha256=sha256_file(source), layout=layout,
        new=sorted(k for k in missing if k in new_keys), inflated=sorted(inflated),
        total=len(non_head), matched=len(set(loaded) & set(non_head)), strict=bool(strict))
    if verbose:
        print(report)
    if strict:
        unloaded = [k for k in report.missing if k not in head and not _is_counter(k)]
        expected = len([k for k in non_head if k not in new_keys])
        if unloaded or mismatched or report.matched * 2 < expected:
            parts = [f"{len(unloaded)} left unloaded" + (f" (e.g. {', '.join(unloaded[:3])})" if unloaded else "")]
            if mismatched:
                k, a, b = mismatched[0]
                parts.append(f"{len(mismatched)} shape-mismatched (e.g. {k} {tuple(a)} vs {tuple(b)})")
            if report.unexpected:
                parts.append(f"{len(report.unexpected)} checkpoint tensors unused (e.g. {report.unexpected[0]})")
            raise TabenchError(
                f"{path}: refused: it loads {report.matched} of {name}'s {report.total} non-head tensors"
                + (f" ({layout} layout)" if layout else "") + "; " + "; ".join(parts)
                + "; set weights_strict: false to load it partially on purpose")
    return report
