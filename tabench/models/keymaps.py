"""Key maps from the checkpoint layouts researchers actually have to tabench's parameter names.

Each map recognises a layout from its keys and renames (and, where the official code does, reshapes) its tensors:

- PySlowFast-native ResNet / SlowFast / X3D (`s1.pathway0_stem.conv.weight`, `s2.pathway0_res0.branch2.a_bn...`,
  `s1_fuse.conv_f2s`, `head.projection`): what the paper trained I3D, X3D and SlowFast with, into the pytorchvideo
  modules of `i3d_r50`, `slowfast_r50`, `x3d_*` (`blocks.N...`).
- torchvision ResNet-50 (`conv1`, `bn1`, `layer1.0.conv1`, `layer1.0.downsample.0`, `fc`) into `resnet50_tsn`
  (transformers' ResNetModel names).
- OpenAI CLIP (`visual.conv1`, `visual.transformer.resblocks.N.attn.in_proj_weight`, ...; from a TorchScript
  archive or a state dict) and Hugging Face CLIP (`vision_model.encoder.layers.N.self_attn.q_proj...`) into the
  CLIP ViT of `aim_vit_b16` and `uniformerv2_*` (OpenAI names under `backbone.`). UniFormerV2's 3D patch embedding
  is inflated from CLIP's 2D one as the official code does: zeros except the centre time slice.

Written here (no library converts these layouts). A map returns the renamed state dict and the model keys it
expects no checkpoint of that layout to hold (modules the architecture adds to its image-model initialisation,
e.g. AIM's adapters), which strict loading accepts as newly initialised.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Callable

import torch
from torch import nn


@dataclasses.dataclass
class Mapped:
    state: dict[str, torch.Tensor]
    layout: str
    new_keys: set[str] = dataclasses.field(default_factory=set)  # model keys the layout cannot hold
    inflated: list[str] = dataclasses.field(default_factory=list)


# ---------------------------------------------------------------------------------------------- PySlowFast
def is_pyslowfast(state: dict) -> bool:
    return any(re.match(r"^s\d\.pathway\d_(stem|res\d+)\.", k) for k in state)


def _ptv_layout(model_keys: set[str]) -> dict:
    blocks = sorted({int(k.split(".")[1]) for k in model_keys if k.startswith("blocks.")})
    stages = sorted({int(k.split(".")[1]) for k in model_keys if ".res_blocks." in k})
    head = max(b for b in blocks if any(k.startswith(f"blocks.{b}.proj.") for k in model_keys))
    multi = any(".multipathway_blocks." in k for k in model_keys)
    return {"stages": stages, "head": head, "multi": multi}


def _psf_block_name(rest: str, prefix: str, model_keys: set[str]) -> str:
    """The part of a PySlowFast key inside one residual block -> pytorchvideo's names."""
    m = re.match(r"^branch1(_bn)?\.(.*)$", rest)
    if m:
        return f"{prefix}branch1_{'norm' if m.group(1) else 'conv'}.{m.group(2)}"
    m = re.match(r"^branch2\.(a|b|c)(_bn)?\.(.*)$", rest)
    if m:
        part, bn, tail = m.groups()
        name = f"{prefix}branch2.{'norm' if bn else 'conv'}_{part}"
        if bn and part == "b" and f"{name}.0.weight" in model_keys:  # X3D: norm_b = Sequential(BN, SE)
            name += ".0"
        return f"{name}.{tail}"
    m = re.match(r"^branch2\.se\.fc(1|2)\.(.*)$", rest)
    if m:
        return f"{prefix}branch2.norm_b.1.block.{0 if m.group(1) == '1' else 2}.{m.group(2)}"
    return prefix + rest


def map_pyslowfast(state: dict, model_keys: set[str]) -> Mapped:
    """PySlowFast's native ResNet/SlowFast/X3D names -> the pytorchvideo modules tabench builds."""
    lay = _ptv_layout(model_keys)
    stage_block = {f"s{i + 2}": b for i, b in enumerate(lay["stages"])}  # s2..s5
    stage_block["s1"] = 0
    out = {}
    for k, v in state.items():
        new = None
        m = re.match(r"^s(\d)\.pathway(\d)_stem\.(.*)$", k)
        if m:
            p, rest = int(m.group(2)), m.group(3)
            prefix = f"blocks.0.multipathway_blocks.{p}." if lay["multi"] else "blocks.0."
            if "blocks.0.conv.conv_t.weight" in model_keys:  # X3D stem: conv_xy (spatial), conv (temporal dw)
                rest = re.sub(r"^conv_xy\.", "conv.conv_t.", rest) if rest.startswith("conv_xy.") else \
                    re.sub(r"^conv\.", "conv.conv_xy.", rest)
            new = prefix + re.sub(r"^bn\.", "norm.", rest)
        m = None if new else re.match(r"^(s\d)\.pathway(\d)_res(\d+)\.(.*)$", k)
        if m:
            stage, p, i, rest = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
            b = stage_block.get(stage)
            if b is not None:
                prefix = (f"blocks.{b}.multipathway_blocks.{p}.res_blocks.{i}." if lay["multi"]
                          else f"blocks.{b}.res_blocks.{i}.")
                new = _psf_block_name(rest, prefix, model_keys)
        m = re.match(r"^(s\d)_fuse\.(conv_f2s|bn)\.(.*)$", k)
        if new is None and m and m.group(1) in stage_block:
            part = "conv_fast_to_slow" if m.group(2) == "conv_f2s" else "norm"
            new = f"blocks.{stage_block[m.group(1)]}.multipathway_fusion.{part}.{m.group(3)}"
        m = re.match(r"^head\.(projection|conv_5_bn|conv_5|lin_5_bn|lin_5)\.(.*)$", k)
        if new is None and m:
            part = {"projection": "proj", "conv_5": "pool.pre_conv", "conv_5_bn": "pool.pre_norm",
                    "lin_5": "pool.post_conv", "lin_5_bn": "pool.post_norm"}[m.group(1)]
            new = f"blocks.{lay['head']}.{part}.{m.group(2)}"
        out[new or k] = v
    return Mapped(out, "PySlowFast native")


# ------------------------------------------------------------------------------------------ torchvision ResNet
def is_torchvision_resnet(state: dict) -> bool:
    return "conv1.weight" in state and any(k.startswith("layer1.0.conv1.") for k in state)


def map_torchvision_resnet(state: dict, prefix: str = "backbone.") -> Mapped:
    """torchvision's ResNet names -> transformers' ResNetModel names (both put the stride in the 3x3 conv)."""
    out = {}
    for k, v in state.items():
        new = None
        m = re.match(r"^(conv1|bn1)\.(.*)$", k)
        if m:
            new = f"{prefix}embedder.embedder.{'convolution' if m.group(1) == 'conv1' else 'normalization'}.{m.group(2)}"
        m = re.match(r"^layer(\d)\.(\d+)\.(conv|bn)(\d)\.(.*)$", k)
        if m:
            stage, i, kind, j, tail = m.groups()
            part = "convolution" if kind == "conv" else "normalization"
            new = f"{prefix}encoder.stages.{int(stage) - 1}.layers.{i}.layer.{int(j) - 1}.{part}.{tail}"
        m = re.match(r"^layer(\d)\.(\d+)\.downsample\.(0|1)\.(.*)$", k)
        if m:
            stage, i, j, tail = m.groups()
            part = "convolution" if j == "0" else "normalization"
            new = f"{prefix}encoder.stages.{int(stage) - 1}.layers.{i}.shortcut.{part}.{tail}"
        out[new or k] = v
    return Mapped(out, "torchvision ResNet")


# ------------------------------------------------------------------------------------------------------ CLIP
def is_openai_clip(state: dict) -> bool:
    return "visual.conv1.weight" in state or ("conv1.weight" in state and "class_embedding" in state)


def is_hf_clip(state: dict) -> bool:
    return any(k.startswith(("vision_model.embeddings.", "embeddings.patch_embedding.")) for k in state)


def hf_clip_to_openai(state: dict) -> dict:
    """Hugging Face CLIP (vision part) -> OpenAI's visual.* names; q/k/v are concatenated into in_proj."""
    src = {k[len("vision_model."):] if k.startswith("vision_model.") else k: v for k, v in state.items()}
    out = {}
    simple = {"embeddings.class_embedding": "class_embedding", "embeddings.patch_embedding.weight": "conv1.weight",
              "embeddings.position_embedding.weight": "positional_embedding"}
    for k, v in src.items():
        if k in simple:
            out["visual." + simple[k]] = v
        elif k.startswith("pre_layrnorm."):
            out["visual.ln_pre." + k.split(".", 1)[1]] = v
        elif k.startswith("post_layernorm."):
            out["visual.ln_post." + k.split(".", 1)[1]] = v
        elif k == "visual_projection.weight":
            out["visual.proj"] = v.t().contiguous()
    layers = sorted({int(m.group(1)) for k in src if (m := re.match(r"^encoder\.layers\.(\d+)\.", k))})
    for i in layers:
        p, q = f"encoder.layers.{i}.", f"visual.transformer.resblocks.{i}."
        for t in ("weight", "bias"):
            qkv = [src.get(f"{p}self_attn.{n}_proj.{t}") for n in "qkv"]
            if all(x is not None for x in qkv):
                out[f"{q}attn.in_proj_{t}"] = torch.cat(qkv, 0)
            for a, b in (("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"),
                         ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")):
                if f"{p}{a}.{t}" in src:
                    out[f"{q}{b}.{t}"] = src[f"{p}{a}.{t}"]
    used = set(simple) | {"visual_projection.weight"}
    for k, v in src.items():  # the rest (text tower, position_ids, ...) stays, so the report shows it unexpected
        if not (k in used or k.startswith(("pre_layrnorm.", "post_layernorm.", "encoder.layers."))):
            out.setdefault(k, v)
    return out


def inflate_center(w2d: torch.Tensor, time: int) -> torch.Tensor:
    """(O, I, H, W) -> (O, I, T, H, W): zeros, the 2D kernel in the centre time slice (UniFormerV2's inflation)."""
    w = w2d.new_zeros(w2d.shape[0], w2d.shape[1], time, *w2d.shape[2:])
    w[:, :, time // 2] = w2d
    return w


def map_clip_vit(state: dict, model_state: dict, new_key: Callable[[str], bool], layout: str) -> Mapped:
    """OpenAI CLIP visual.* -> backbone.* of a model whose CLIP ViT keeps OpenAI's names; 2D -> 3D patch
    embeddings are centre-inflated."""
    vis = {k[len("visual."):]: v for k, v in state.items() if k.startswith("visual.")}
    if not vis:  # a visual-only state dict (conv1, class_embedding, ...)
        vis = dict(state)
    out, inflated = {}, []
    for k, v in vis.items():
        key = "backbone." + k
        target = model_state.get(key)
        if target is not None and v.ndim == 4 and target.ndim == 5 and tuple(v.shape) == tuple(target.shape[:2]) + \
                tuple(target.shape[3:]):
            v = inflate_center(v, target.shape[2])
            inflated.append(key)
        out[key] = v
    for k, v in state.items():  # text tower etc.: unexpected, reported
        if not k.startswith("visual.") and k not in vis:
            out[k] = v
    return Mapped(out, layout, {k for k in model_state if new_key(k)}, inflated)


def clip_new_keys(model: nn.Module) -> Callable[[str], bool]:
    """Which of a CLIP-initialised model's keys an image CLIP checkpoint cannot hold."""
    name = type(model).__name__
    if name == "AIM":
        return lambda k: any(t in k for t in ("Adapter", "temporal_embedding"))
    if name == "UniFormerV2":
        keep = re.compile(r"^backbone\.(conv1|class_embedding|positional_embedding|ln_pre\.|"
                          r"transformer\.resblocks\.\d+\.(attn|ln_1|ln_2|mlp)\.)")
        return lambda k: not keep.match(k)
    return lambda k: False


def uses_clip_vit(model: nn.Module) -> bool:
    return type(model).__name__ in ("AIM", "UniFormerV2")


def is_ptv(model: nn.Module) -> bool:
    from tabench.models._ptv import PTVNet

    return isinstance(model, PTVNet)


def apply(state: dict, model: nn.Module) -> Mapped | None:
    """The key map for this (checkpoint, model) pair, or None when no known foreign layout is recognised."""
    model_state = model.state_dict()
    if state.keys() & model_state.keys() and len(state.keys() & model_state.keys()) >= len(model_state) // 2:
        return None  # already in the model's own layout
    if is_pyslowfast(state) and is_ptv(model):
        return map_pyslowfast(state, set(model_state))
    if is_torchvision_resnet(state) and type(model).__name__ == "ResNetTSN":
        return map_torchvision_resnet(state)
    if uses_clip_vit(model):
        if is_hf_clip(state):
            return map_clip_vit(hf_clip_to_openai(state), model_state, clip_new_keys(model), "Hugging Face CLIP")
        if is_openai_clip(state):
            return map_clip_vit(state, model_state, clip_new_keys(model), "OpenAI CLIP")
    return None
