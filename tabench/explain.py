"""`tabench explain RUN --videos N`: where in the frame a trained model looks (the paper's Fig. 8).

For each direction of a protocol run (train1/, train2/) and each context (known: the training set's test videos,
unknown: the other set's), the first N test videos are run through the trained model and the evidence for the
predicted class is mapped back onto the frames with Grad-CAM (Selvaraju et al., ICCV 2017) on the model's last
spatial layer: the last Conv2d/Conv3d whose output still has a spatial grid (h, w > 1). Written here (a forward and
a backward hook, ~30 lines) rather than pulled in from a Grad-CAM package because those are image-only and expect
torchvision; video CNNs here are per-frame 2D (N = B*T) or 3D (B, C, T, h, w) and both are handled.

Output: RUN/explain/train<k>_<context>_<i>.png, each a strip of the clip's frames with the saliency overlaid
(jet, alpha 0.45) above the raw frames, and RUN/explain/explain.json (video, true and predicted class, layer).

Transformers (models whose self-attention is torch's `nn.MultiheadAttention` or transformers' CLIP attention: the
ViViT, AIM, UniFormerV2 and the CLIP-based video-text models) get attention rollout instead (Abnar & Zuidema, ACL
2020): the per-frame spatial self-attention of every layer, averaged over heads, mixed with the identity for the
residual (0.5 A + 0.5 I, rows renormalised) and multiplied from the first layer to the last; the [CLS] row (or, for
mean-pooled models without [CLS], the mean over query tokens) over the patch tokens is the map. Temporal attention
(over frames at one position), cross-attention (UniFormerV2's global queries) and extra tokens (EZ-CLIP's prompt,
X-CLIP's message token) are not spatial maps and are left out of the product; which layers were used is in
explain.json. Rollout is class-agnostic: it shows where the model routes information, not the evidence for one
class. A model with neither (no spatial conv layer, no such attention) is refused with a one-line error, never
given a made-up map.
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
        raise TabenchError(f"{type(model).__name__}: no convolution with a spatial output and no self-attention "
                           "tabench can read, so neither Grad-CAM nor attention rollout applies")
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


def _attention_modules(model: nn.Module) -> list[nn.Module]:
    from transformers.models.clip.modeling_clip import CLIPAttention

    return [m for m in model.modules() if isinstance(m, (nn.MultiheadAttention, CLIPAttention))]


def has_attention(model: nn.Module) -> bool:
    """Whether attention rollout applies: the model has self-attention tabench can read the weights of."""
    return bool(_attention_modules(model))


def record_attention(model: nn.Module, clip: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Run the model once, keeping every self-attention's weights averaged over heads, (N, L, L) each, in call
    order, and the logits. `nn.MultiheadAttention` is asked for its weights (need_weights) and transformers' CLIP
    attention is switched to the eager implementation for the call (SDPA returns none); outputs are unchanged."""
    from transformers.models.clip.modeling_clip import CLIPAttention

    maps: list[torch.Tensor] = []
    hooks, configs = [], {}

    def want_weights(m, args, kwargs):
        return args, {**kwargs, "need_weights": True, "average_attn_weights": True}

    def keep(m, args, out):
        w = out[1] if isinstance(out, tuple) and len(out) > 1 else None
        if isinstance(w, torch.Tensor):
            w = w.detach().float()
            w = w.mean(1) if w.dim() == 4 else w  # CLIP: (N, heads, L, S)
            if w.dim() == 3 and w.shape[-1] == w.shape[-2]:  # self-attention only
                maps.append(w)

    for m in _attention_modules(model):
        if isinstance(m, nn.MultiheadAttention):
            hooks.append(m.register_forward_pre_hook(want_weights, with_kwargs=True))
        elif isinstance(m, CLIPAttention):
            configs.setdefault(id(m.config), (m.config, m.config._attn_implementation))  # shared by the layers
            m.config._attn_implementation = "eager"
        hooks.append(m.register_forward_hook(keep))
    try:
        with torch.no_grad():
            logits = model(clip.unsqueeze(0))
    finally:
        for h in hooks:
            h.remove()
        for cfg, impl in configs.values():
            cfg._attn_implementation = impl
    return maps, logits


def _patch_layout(length: int) -> tuple[int, int] | None:
    """(first patch index, grid side) for a token sequence of `length`: g*g patches, or [CLS] + g*g patches
    (+ a few extra tokens such as prompts); None if it is no square grid."""
    g = int(round(length ** 0.5))
    if g * g == length and g > 1:
        return 0, g
    g = int((length - 1) ** 0.5)
    return (1, g) if g > 1 and 0 <= length - 1 - g * g <= 16 else None


def attention_rollout(model: nn.Module, clip: torch.Tensor) -> tuple[np.ndarray, int, dict]:
    """Attention rollout of one clip (C, T, H, W): a (T, H, W) map in [0, 1], the predicted class, and what was
    used (`layers`: how many attention calls entered the product, `tokens`, `grid`)."""
    model.eval()
    maps, logits = record_attention(model, clip)
    groups: dict[tuple[int, int], list[torch.Tensor]] = {}
    for w in maps:
        if _patch_layout(w.shape[-1]) is not None:
            groups.setdefault(tuple(w.shape[:2]), []).append(w)
    if not groups:
        raise TabenchError(f"{type(model).__name__}: none of its attention maps is over a square patch grid, so "
                           "attention rollout does not apply")
    (n, length), layers = max(groups.items(), key=lambda kv: (len(kv[1]), kv[0][1]))  # the spatial layers
    first, g = _patch_layout(length)
    eye = torch.eye(length).expand(n, length, length)
    roll = eye.clone()
    for a in layers:
        a = 0.5 * a + 0.5 * eye
        roll = (a / a.sum(-1, keepdim=True)) @ roll
    rows = roll[:, 0] if first == 1 else roll.mean(1)
    cam = rows[:, first:first + g * g].reshape(n, g, g)  # one map per frame (or per temporal token group)
    T, H, W = clip.shape[1:]
    cam = nn.functional.interpolate(cam[None, None], size=(T, H, W), mode="trilinear", align_corners=False)[0, 0]
    cam = cam - cam.min()
    cam = cam / cam.max() if float(cam.max()) > 0 else cam
    return cam.numpy(), int(logits[0].argmax()), {"layers": len(layers), "tokens": length, "grid": [g, g]}


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
    from tabench.data.format import open_dataset
    from tabench.train import label_space, load_trained_model, make_dataset, resolve_input, set_label_texts

    if videos < 1:
        raise TabenchError(f"--videos must be >= 1, got {videos}")
    run_dir = Path(run_dir)
    (run,) = load_runs([run_dir])
    if run.data is None:
        raise TabenchError(f"{run_dir}: its dataset directory is not there (see `tabench report {run_dir}`)")
    out = Path(out) if out is not None else run_dir / "explain"
    taxonomy = open_dataset(run.data).taxonomy
    records, methods = [], set()
    torch.set_grad_enabled(True)
    for s in (1, 2):
        if not (run_dir / f"train{s}").is_dir():
            continue
        model, ckpt = load_trained_model(run_dir / f"train{s}")
        tcfg = resolve_input(ckpt["config"])
        frames, size = int(tcfg["frames"]), int(tcfg["size"])
        layer_name = None
        method = "attention-rollout" if has_attention(model) else "grad-cam"
        methods.add(method)
        for kind, eval_set in (("known", s), ("unknown", 3 - s)):
            ds = make_dataset(tcfg, run.data, eval_set, "val", run.level, False, frames, size)
            set_label_texts(model, label_space(tcfg, taxonomy, eval_set, run.level))  # as the protocol scores it
            classes = taxonomy.labels(eval_set, run.level)
            for i in range(min(videos, len(ds))):
                item = ds[i]
                clip = item["video"]
                if method == "attention-rollout":
                    cam, pred, used = attention_rollout(model, clip)
                    layer_name = f"{used['layers']} self-attention layers over {used['tokens']} tokens"
                else:
                    if layer_name is None:
                        layer_name, layer = last_spatial_layer(model.eval(), clip.unsqueeze(0))
                    cam, pred = grad_cam(model, clip, layer)
                png = overlay_strip(_denormalize(clip, tcfg["mean"], tcfg["std"]), cam,
                                    out / f"train{s}_{kind}_{i}.png")
                records.append({"train_set": s, "context": kind, "method": method, "video": item["path"],
                                "true": int(item["label"]),
                                "pred": pred, "true_name": classes[int(item["label"])] if classes else None,
                                "pred_name": classes[pred] if classes and pred < len(classes) else None,
                                "layer": layer_name, "png": png.name})
    if not records:
        raise TabenchError(f"{run_dir}: no train1/ or train2/ with a trained model")
    method = methods.pop() if len(methods) == 1 else "mixed"
    atomic_write_text(out / "explain.json", json.dumps({"method": method, "videos": records}, indent=2))
    return out
