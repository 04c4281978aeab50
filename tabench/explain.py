"""`tabench explain RUN --videos N`: where in the frame a trained model looks (the paper's Fig. 8).

For each direction of a protocol run (train1/, train2/) and each context (known: the training set's test videos,
unknown: the other set's), the first N test videos are run through the trained model and the evidence for the
predicted class is mapped back onto the frames with Grad-CAM (Selvaraju et al., ICCV 2017) on the model's last
spatial layer: the last Conv2d/Conv3d whose output still has a spatial grid (h, w > 1). Written here (a forward and
a backward hook, ~30 lines) rather than pulled in from a Grad-CAM package because those are image-only and expect
torchvision; video CNNs here are per-frame 2D (N = B*T) or 3D (B, C, T, h, w) and both are handled.

Output: RUN/explain/train<k>_<context>_<i>.png, each a strip of the clip's frames with the saliency overlaid
(jet, alpha 0.45) above the raw frames, and RUN/explain/explain.json (video, true and predicted class, layer).

Attention rollout for ViT-based models (Abnar & Zuidema, 2020) is not implemented yet: a model without a spatial
conv layer is refused with a one-line error, never given a made-up map.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tabench import TabenchError

STRIP_FRAMES = 8


def last_spatial_layer(model: nn.Module, clip: torch.Tensor) -> tuple[str, nn.Module]:
    """The last Conv2d/Conv3d (in execution order) whose output has a spatial grid larger than 1x1."""
    fired: list[tuple[str, nn.Module]] = []
    names = {m: n for n, m in model.named_modules()}
    hooks = []

    def hook(m, _inp, out):
        if isinstance(out, torch.Tensor) and out.dim() in (4, 5) and out.shape[-1] > 1 and out.shape[-2] > 1:
            fired.append((names[m], m))

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            hooks.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(clip)
    finally:
        for h in hooks:
            h.remove()
    if not fired:
        raise TabenchError(f"{type(model).__name__}: no convolution with a spatial output, so no Grad-CAM; attention "
                           "rollout for ViT-based models is not implemented yet")
    return fired[-1]


def grad_cam(model: nn.Module, clip: torch.Tensor, layer: nn.Module, target: int | None = None
             ) -> tuple[np.ndarray, int]:
    """Grad-CAM of one clip (C, T, H, W) at `layer`: a (T, H, W) map in [0, 1] for class `target` (default: the
    predicted class), and that class."""
    acts, grads = {}, {}
    h1 = layer.register_forward_hook(lambda m, i, o: acts.__setitem__("a", o))
    h2 = layer.register_full_backward_hook(lambda m, gi, go: grads.__setitem__("g", go[0]))
    model.eval()
    try:
        x = clip.unsqueeze(0).requires_grad_(True)  # a grad path even where the layer's input is a frozen stem
        logits = model(x)
        if target is None:
            target = int(logits[0].argmax())
        model.zero_grad(set_to_none=True)
        logits[0, target].backward()
    finally:
        h1.remove()
        h2.remove()
    a, g = acts["a"].detach(), grads["g"].detach()
    if a.dim() == 5:  # (1, C, t, h, w)
        w = g.mean(dim=(3, 4), keepdim=True)
        cam = torch.relu((w * a).sum(1))[0]  # (t, h, w)
    else:  # per-frame 2D CNN: (t, C, h, w)
        w = g.mean(dim=(2, 3), keepdim=True)
        cam = torch.relu((w * a).sum(1))  # (t, h, w)
    T, H, W = clip.shape[1:]
    cam = nn.functional.interpolate(cam[None, None], size=(T, H, W), mode="trilinear", align_corners=False)[0, 0]
    cam = cam - cam.min()
    cam = cam / cam.max() if float(cam.max()) > 0 else cam
    return cam.numpy(), target


def _denormalize(clip: torch.Tensor, mean, std) -> np.ndarray:
    """(C, T, H, W) normalised -> (T, H, W, 3) uint8."""
    m = torch.tensor(mean).view(3, 1, 1, 1)
    s = torch.tensor(std).view(3, 1, 1, 1)
    x = (clip * s + m).clamp(0, 1)
    return (x.permute(1, 2, 3, 0).numpy() * 255).round().astype(np.uint8)


def overlay_strip(frames: np.ndarray, cam: np.ndarray, out: Path, scale: int = 2) -> Path:
    """A PNG: the frames with the map overlaid (top row) and the raw frames (bottom row)."""
    from matplotlib import colormaps
    from PIL import Image

    from tabench.io import atomic_path

    idx = np.linspace(0, len(frames) - 1, min(STRIP_FRAMES, len(frames))).round().astype(int)
    heat = (colormaps["jet"](cam[idx])[..., :3] * 255).astype(np.float32)
    over = (0.55 * frames[idx] + 0.45 * heat).round().astype(np.uint8)
    top, bottom = np.concatenate(list(over), axis=1), np.concatenate(list(frames[idx]), axis=1)
    im = Image.fromarray(np.concatenate([top, bottom], axis=0))
    im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    with atomic_path(out, suffix=".png") as tmp:
        im.save(tmp, format="PNG", optimize=True)
    return out


def explain_run(run_dir: str | Path, videos: int = 2, out: str | Path | None = None) -> Path:
    """Saliency strips for `videos` test videos per direction and context of a protocol run; returns the folder."""
    from tabench.analysis import load_runs
    from tabench.io import atomic_write_text
    from tabench.train import load_trained_model, make_dataset, resolve_input

    if videos < 1:
        raise TabenchError(f"--videos must be >= 1, got {videos}")
    run_dir = Path(run_dir)
    (run,) = load_runs([run_dir])
    if run.data is None:
        raise TabenchError(f"{run_dir}: its dataset directory is not there (see `tabench report {run_dir}`)")
    out = Path(out) if out is not None else run_dir / "explain"
    records = []
    torch.set_grad_enabled(True)
    for s in (1, 2):
        if not (run_dir / f"train{s}").is_dir():
            continue
        model, ckpt = load_trained_model(run_dir / f"train{s}")
        tcfg = resolve_input(ckpt["config"])
        frames, size = int(tcfg["frames"]), int(tcfg["size"])
        layer_name = None
        for kind, eval_set in (("known", s), ("unknown", 3 - s)):
            ds = make_dataset(tcfg, run.data, eval_set, "val", run.level, False, frames, size)
            classes = ds.taxonomy.labels(eval_set, run.level) if hasattr(ds, "taxonomy") else None
            for i in range(min(videos, len(ds))):
                item = ds[i]
                clip = item["video"]
                if layer_name is None:
                    layer_name, layer = last_spatial_layer(model.eval(), clip.unsqueeze(0))
                cam, pred = grad_cam(model, clip, layer)
                png = overlay_strip(_denormalize(clip, tcfg["mean"], tcfg["std"]), cam,
                                    out / f"train{s}_{kind}_{i}.png")
                records.append({"train_set": s, "context": kind, "video": item["path"], "true": int(item["label"]),
                                "pred": pred, "true_name": classes[int(item["label"])] if classes else None,
                                "pred_name": classes[pred] if classes and pred < len(classes) else None,
                                "layer": layer_name, "png": png.name})
    if not records:
        raise TabenchError(f"{run_dir}: no train1/ or train2/ with a trained model")
    atomic_write_text(out / "explain.json", json.dumps({"method": "grad-cam", "videos": records}, indent=2))
    return out
