"""`--weights` (create_model(..., weights=PATH)) for the video-text models: what the file or directory is, and
where it goes.

* CLIP weights (OpenAI's `ViT-B-16.pt`, TorchScript or state dict; a Hugging Face CLIP directory; a single
  Hugging Face CLIP weights file) initialise the method from CLIP, exactly as `pretrained=PATH` does: that is
  how every one of the five methods starts training (the CLIP loader, `clip_io.load_clip`).
* A trained X-CLIP (Hugging Face directory or the official checkpoint) goes to `clip_io.load_xclip`.
* The five methods' own released checkpoints, in their repositories' key names, are mapped onto tabench's
  modules and loaded with every parameter accounted for:
  EZ-CLIP (`{"model_state_dict": ...}`: OpenAI CLIP keys + `visual.transformer.T_prompt_embeddings`,
  `*.resblocks.i.Adapter.D_fc{1,2}`), ActionCLIP (`model_state_dict` + `fusion_model_state_dict`:
  `frame_position_embeddings`, `transformer.resblocks.i.*`), FROSTER (PySlowFast `{"model_state": ...}`:
  `model.*` student, `raw_model.*` teacher, `projector_{v,t}.{0,2}.weight`), X-CLIP (above) and ViFi-CLIP
  (`image_encoder.*`, `text_encoder.*`, `logit_scale`).
* A checkpoint tabench itself wrote (its keys are the model's) loads strictly.
Anything else is a one-line error that names the layout it saw and what to pass instead.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn

from tabench import TabenchError
from tabench.models.videotext import clip_io

LAYOUTS = ("clip", "xclip", "ezclip", "actionclip", "froster", "vificlip", "tabench")


def _looks_openai_clip(sd) -> bool:
    return "visual.conv1.weight" in sd and "token_embedding.weight" in sd


def _looks_hf_clip(sd) -> bool:
    return "vision_model.embeddings.patch_embedding.weight" in sd and "text_model.embeddings.token_embedding.weight" in sd


def read_any(path: Path) -> dict:
    """All tensors of a checkpoint file, keeping the second-level wrappers ActionCLIP uses apart
    (`fusion_model_state_dict.*` keys)."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - TorchScript archives and odd pickles: the CLIP reader says what it is
        return clip_io.read_state_dict(path)
    if isinstance(obj, dict) and isinstance(obj.get("fusion_model_state_dict"), dict):
        out = {k.removeprefix("module."): v for k, v in obj["model_state_dict"].items()}
        out.update({"fusion_model_state_dict." + k.removeprefix("module."): v
                    for k, v in obj["fusion_model_state_dict"].items()})
        return out
    return clip_io.read_state_dict(path)


def detect(path: Path, model: nn.Module | None = None) -> tuple[str, dict | None]:
    """(layout, state dict or None for directories) of a --weights source."""
    if path.is_dir():
        if clip_io.xclip_layout(path):
            return "xclip", None
        return "clip", None
    sd = read_any(path)
    keys = set(sd)
    if any(k.startswith("fusion_model_state_dict.") for k in keys):
        return "actionclip", sd
    if any(k.startswith("prompts_generator.") for k in keys) and "visual.conv1.weight" in keys:
        return "xclip", sd
    if "visual.transformer.T_prompt_embeddings" in keys or any(".Adapter.D_fc1." in k for k in keys):
        return "ezclip", sd
    if any(k.startswith(("raw_model.", "model.visual.")) for k in keys):
        return "froster", sd
    if any(k.startswith("image_encoder.") for k in keys) and any(k.startswith("text_encoder.") for k in keys):
        return "vificlip", sd
    if _looks_openai_clip(sd) or _looks_hf_clip(sd):
        return "clip", sd
    return "unknown", sd


# --------------------------------------------------------------------------------- key maps into tabench
def hf_clip_to_tabench(sd: dict) -> dict:
    """transformers CLIPModel keys -> the keys of tabench's shared core (`visual.*` FrameViT, `text.*` CLIPText)."""
    out = {}
    for key, value in sd.items():
        if key.endswith("position_ids"):
            continue
        if (core := clip_io.hf_clip_key(key)) is not None:
            out[core] = value
        elif key == "logit_scale":
            out[key] = value
        else:
            raise TabenchError(f"unexpected CLIP key {key}")
    return out


def _split(sd: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


def _openai_part(sd: dict) -> dict:
    """OpenAI-layout CLIP keys -> tabench core keys."""
    return hf_clip_to_tabench(clip_io.openai_to_hf(sd))


_ADAPTER = re.compile(r"^(visual\.)?transformer\.resblocks\.(\d+)\.Adapter\.D_fc([12])\.(weight|bias)$")


def ezclip_to_tabench(sd: dict) -> dict:
    """EZ-CLIP's `model_state_dict` (its clip/model.py) -> tabench `EZCLIP` keys."""
    te = sd.get("visual.temporal_embedding")
    if te is not None and te.abs().max() > 0:
        raise TabenchError("EZ-CLIP checkpoint: visual.temporal_embedding is not zero; tabench's EZ-CLIP has no "
                           "temporal embedding (the official one is frozen at zero)")
    out, clip = {}, {}
    for k, v in sd.items():
        if m := _ADAPTER.match(k):
            part = "down" if m.group(3) == "1" else "up"
            base = f"adapters.{m.group(2)}" if m.group(1) else f"text.text_model.encoder.layers.{m.group(2)}.adapter"
            out[f"{base}.{part}.{m.group(4)}"] = v.float()
        elif k == "visual.transformer.T_prompt_embeddings":
            out["temporal_prompts"] = v.float()
        elif k != "visual.temporal_embedding":  # frozen at zero: a no-op tabench leaves out
            clip[k] = v
    out.update(_openai_part(clip))
    sizes = {"frames": int(out["temporal_prompts"].shape[1])} if "temporal_prompts" in out else {}
    return clip, out, sizes


_FUSION = {"ln_1": "layer_norm1", "ln_2": "layer_norm2", "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}


def actionclip_to_tabench(sd: dict) -> dict:
    """ActionCLIP's `model_state_dict` (OpenAI CLIP keys) + `fusion_model_state_dict` (its "Transf" fusion)."""
    fusion = _split(sd, "fusion_model_state_dict.")
    clip = {k: v for k, v in sd.items() if not k.startswith("fusion_model_state_dict.")}
    out = _openai_part(clip)
    for k, v in fusion.items():
        v = v.float()
        if k == "frame_position_embeddings.weight":
            out["fusion.frame_position_embeddings.weight"] = v
            continue
        m = re.match(r"^transformer\.resblocks\.(\d+)\.(.+)$", k)
        if not m:
            raise TabenchError(f"ActionCLIP checkpoint: unexpected fusion key {k}")
        base, rest = f"fusion.layers.{m.group(1)}.", m.group(2)
        if rest in ("attn.in_proj_weight", "attn.in_proj_bias"):
            kind = rest.rsplit("_", 1)[1]
            for name, part in zip(("q_proj", "k_proj", "v_proj"), v.chunk(3, 0)):
                out[f"{base}self_attn.{name}.{kind}"] = part.contiguous()
        elif rest.startswith("attn.out_proj."):
            out[base + "self_attn." + rest[len("attn."):]] = v
        else:
            head, _, kind = rest.rpartition(".")
            if head not in _FUSION:
                raise TabenchError(f"ActionCLIP checkpoint: unexpected fusion key {k}")
            out[f"{base}{_FUSION[head]}.{kind}"] = v
    layers = len({k.split(".")[2] for k in fusion if k.startswith("transformer.resblocks.")})
    return clip, out, {"temporal_layers": layers}


def froster_to_tabench(sd: dict) -> dict:
    """FROSTER's PySlowFast `model_state` (TemporalClipVideo): `model.*` student and `raw_model.*` teacher (both
    OpenAI CLIP keys), `projector_v` / `projector_t`."""
    clip = _split(sd, "model.")
    out = _openai_part(clip)
    teacher = _openai_part(_split(sd, "raw_model."))
    for k, v in teacher.items():
        if k.startswith("visual."):
            out["teacher_visual." + k[len("visual."):]] = v
        elif k.startswith("text."):
            out["teacher_text." + k[len("text."):]] = v
    for k, v in sd.items():
        if k.startswith(("projector_v.", "projector_t.")):
            out[k] = v.float()
        elif not k.startswith(("model.", "raw_model.")):
            raise TabenchError(f"FROSTER checkpoint: unexpected key {k}")
    return clip, out, {}


def vificlip_to_tabench(sd: dict) -> tuple:
    """ViFi-CLIP's checkpoint (its trainers/vificlip.py: `image_encoder` = CLIP's visual, `text_encoder` = CLIP's
    transformer, positional_embedding, ln_final, text_projection; logit_scale). Its `prompt_learner` keeps only
    the training classes' embedded prompts, not CLIP's token embedding: that comes from the CLIP weights given
    with it (`pretrained=`)."""
    out = {}
    clip = {}
    for k, v in sd.items():
        if k.startswith("image_encoder."):
            clip["visual." + k[len("image_encoder."):]] = v
        elif k.startswith("text_encoder."):
            clip[k[len("text_encoder."):]] = v
        elif k == "logit_scale":
            clip[k] = v
        elif not k.startswith("prompt_learner."):  # embedded training prompts: rebuilt from the class texts
            raise TabenchError(f"ViFi-CLIP checkpoint: unexpected key {k}")
    out.update(_openai_part(clip))
    return None, out, {}


MAPS = {"ezclip": ezclip_to_tabench, "actionclip": actionclip_to_tabench, "froster": froster_to_tabench,
        "vificlip": vificlip_to_tabench}


def load_into(model: nn.Module, mapped: dict, source: str, layout: str) -> None:
    """Load mapped weights into `model`: every parameter and buffer must be covered, every tensor used."""
    own = model.state_dict()
    bad = [k for k, v in mapped.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    missing = [k for k in own if k not in mapped and not k.endswith("position_ids")]
    unexpected = [k for k in mapped if k not in own]
    if bad or missing or unexpected:
        raise TabenchError(f"{source} ({layout} layout): does not fit {type(model).__name__}: {len(missing)} missing "
                           f"{missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}, shape mismatch {bad[:3]}")
    model.load_state_dict(mapped, strict=False)
    model.weights_source = {"path": source, "layout": layout, "loaded": len(mapped)}


def create_with_weights(name: str, builder, num_classes: int, weights, verbose: bool = True, **kw) -> nn.Module:
    """Build video-text model `name` with `--weights`, routed by what the weights are (see the module doc); the
    model keeps what was loaded as `model.weights_report` (a `tabench.models.weights.WeightsReport`)."""
    model = _create(name, builder, num_classes, weights, **kw)
    model.weights_report = _report(model, Path(weights).expanduser())
    if verbose:
        print(model.weights_report)
    return model


def _report(model: nn.Module, path: Path):
    """What a video-text load did, in the unimodal loader's report form: CLIP initialisation loads the CLIP
    modules (the method's own new modules keep their initialisation, as in the official training); the other
    layouts load every tensor of the model."""
    from tabench.models.weights import WeightsReport

    source = getattr(model, "weights_source", None)
    own = list(model.state_dict())
    if source is None:  # CLIP initialisation
        loaded = [k for k in own if k.startswith(("visual.", "text.", "logit_scale"))
                  and not k.startswith("text_proj") and ".adapter." not in k]
        note = (f"CLIP initialisation; {len(own) - len(loaded)} tensors of the method's own modules keep their "
                "initialisation")
    else:
        loaded, note = own, f"{source['layout']} layout, every tensor loaded"
    return WeightsReport(path=str(path), loaded=sorted(loaded), missing=[], unexpected=[], mismatched=[],
                         skipped_head=[], renamed=note)


def _create(name: str, builder, num_classes: int, weights, **kw) -> nn.Module:
    from tabench.models.videotext import xclip as xclip_mod

    path = Path(weights).expanduser()
    if not path.exists():
        raise TabenchError(f"weights {str(weights)!r} not found (tabench never downloads; give a local file or "
                           "directory)")
    method = name.split("_", 1)[0]
    layout, sd = detect(path, None)
    if layout == "unknown" and sd:  # maybe a checkpoint tabench wrote for this very model
        probe = builder(num_classes=num_classes, **kw)
        if set(sd) <= set(probe.state_dict()):
            load_into(probe, sd, str(path), "tabench")
            return probe
    if kw.get("pretrained") is not None and layout != "vificlip":
        raise TabenchError(f"{name}: give either --weights or model_kwargs.pretrained, not both")
    if layout == "clip":  # CLIP initialisation: the CLIP loader, exactly as pretrained=PATH
        return builder(num_classes=num_classes, pretrained=str(path), **kw)
    if layout == "xclip":
        if method != "xclip":
            raise TabenchError(f"{path}: trained X-CLIP weights; they fit xclip_b16 / xclip_minilm_tiny, not {name} "
                               "(for CLIP initialisation pass CLIP's own weights)")
        return clip_io.load_xclip(path, xclip_mod.XCLIP, text="clip" if name.endswith("_b16") else "minilm", **kw)
    if layout in MAPS:
        if layout != method:
            raise TabenchError(f"{path}: an official {layout} checkpoint (its repository's key layout); it fits "
                               f"{layout}_b16, not {name}")
        clip, mapped, sizes = MAPS[layout](sd)
        if clip is None:  # ViFi-CLIP: the architecture and the token embedding come from the CLIP weights
            base = kw.pop("pretrained", None)
            if base is None:
                raise TabenchError(f"{path}: ViFi-CLIP checkpoints hold no token embedding (its prompt learner keeps "
                                   "the embedded training prompts); also give the CLIP weights it started from: "
                                   "--set model_kwargs.pretrained=ViT-B-16.pt")
            model = builder(num_classes=num_classes, pretrained=base, **kw)
            key = "text.text_model.embeddings.token_embedding.weight"
            load_into(model, {key: model.state_dict()[key], **mapped}, str(path), "official vificlip")
            return model
        if not name.endswith("_b16"):
            raise TabenchError(f"{path}: an official {layout} checkpoint is a CLIP model; load it into {layout}_b16")
        tok = clip_io.tokenizer_near(path)
        if tok is None:
            raise TabenchError(f"{path}: the {layout} checkpoint carries no tokenizer; put bpe_simple_vocab_16e6.txt.gz "
                               "(from OpenAI's clip package) or vocab.json + merges.txt next to it")
        loaded = clip_io.LoadedCLIP(clip_io.clip_from_openai(clip, str(path)), tok, str(path))
        model = builder(num_classes=num_classes, pretrained=loaded, **{**sizes, **kw})
        load_into(model, mapped, str(path), f"official {layout}")
        return model
    sample = ", ".join(sorted(sd)[:3]) if sd else "no tensors"
    raise TabenchError(f"{path}: unrecognised weights layout for {name} (keys like {sample}); pass CLIP weights "
                       "(OpenAI ViT-B-16.pt or a Hugging Face CLIP directory), a tabench checkpoint of this model, or "
                       f"the official {method} checkpoint")
