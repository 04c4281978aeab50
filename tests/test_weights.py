"""Weights load exactly or not at all, from the layouts researchers have.

Stand-in checkpoints are made here in each official layout with random weights: PySlowFast-native I3D / SlowFast /
X3D state dicts (key names as PySlowFast's `s1.pathway0_stem...`), a torchvision-layout ResNet-50 (a module with
torchvision's names and forward, written here), OpenAI CLIP as a TorchScript archive (torch.jit.trace of a module
with OpenAI's names) and as a state dict, and Hugging Face CLIP directories (transformers' CLIPModel from a small
config, saved with save_pretrained). Where the stand-in can run, the loaded tabench model must compute what it
computes."""
from __future__ import annotations

import json
import os
import re
from collections import OrderedDict

import pytest
import torch
from torch import nn

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tabench import TabenchError, cli  # noqa: E402
from tabench.models import create_model, load_weights  # noqa: E402
from tabench.models.weights import sha256_file  # noqa: E402


def _randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k, t in model.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.5 if "running_var" in k
                        else torch.randn(t.shape, generator=g) * 0.05)
    return model


# ------------------------------------------------------------------------------------------------ strictness
def _tiny(num_classes=3, seed=0):
    torch.manual_seed(seed)
    return create_model("r3d_tiny", num_classes=num_classes).eval()


def test_strict_by_default_refuses_a_partial_load_with_one_line(tmp_path):
    src = _tiny()
    state = src.state_dict()
    partial = {k: v for k, v in state.items() if not k.startswith("layer4") and "stage4" not in k}
    partial = dict(list(state.items())[: len(state) * 2 // 3])
    path = tmp_path / "partial.pt"
    torch.save(partial, path)
    with pytest.raises(TabenchError) as e:
        load_weights(_tiny(seed=1), path, verbose=False)
    msg = str(e.value)
    assert "\n" not in msg and "refused" in msg and "left unloaded" in msg and "weights_strict: false" in msg
    n_loaded = int(re.search(r"loads (\d+) of", msg).group(1))
    assert n_loaded == len([k for k in partial if not k.endswith("num_batches_tracked")])
    rep = load_weights(_tiny(seed=1), path, strict=False, verbose=False)  # on purpose: allowed
    assert rep.missing and not rep.strict
    with pytest.raises(TabenchError, match="refused"):
        create_model("r3d_tiny", num_classes=3, weights=str(path), strict=True)


def test_strict_refuses_shape_mismatch_but_not_extras_or_another_head(tmp_path):
    src = _tiny(num_classes=7)
    state = dict(src.state_dict())
    state["extra.text_tower.weight"] = torch.zeros(4)
    path = tmp_path / "k400.pt"
    torch.save({"state_dict": state}, path)
    rep = load_weights(_tiny(), path, verbose=False)  # strict: head of another size skipped, extras reported
    assert rep.skipped_head == ["fc.bias", "fc.weight"] and rep.unexpected == ["extra.text_tower.weight"]
    assert rep.matched == rep.total and rep.sha256 == sha256_file(path)
    wide = create_model("r3d_tiny", num_classes=3, widths=(16, 32, 64, 96))
    with pytest.raises(TabenchError, match="shape-mismatched"):
        load_weights(wide, path, verbose=False)


def test_a_checkpoint_matching_under_half_is_refused(tmp_path):
    src = _tiny()
    state = src.state_dict()
    few = {k: v for i, (k, v) in enumerate(state.items()) if i < len(state) // 3}
    torch.save(few, tmp_path / "few.pt")
    with pytest.raises(TabenchError, match=r"loads \d+ of"):
        load_weights(_tiny(), tmp_path / "few.pt", verbose=False)


def test_train_writes_weights_json_and_refuses_partial_weights_with_exit_2(tmp_path, capsys):
    from tests.test_train import make_tiny_dataset

    data = make_tiny_dataset(tmp_path / "data", train_per_class=1, val_per_class=1)
    src = _tiny(num_classes=5)
    full = tmp_path / "full.pt"
    torch.save({"model_state": src.state_dict()}, full)
    half = tmp_path / "half.pt"
    torch.save(dict(list(src.state_dict().items())[:40]), half)
    base = ["benchmark", "--data", str(data), "--model", "r3d_tiny", "--epochs", "1", "--frames", "4", "--size",
            "32", "--batch-size", "4", "--workers", "0", "--no-progress", "--set", "tensorboard=false",
            "--set", "threads=1"]
    assert cli.main(base + ["--out", str(tmp_path / "bad"), "--weights", str(half)]) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert cli.main(base + ["--out", str(tmp_path / "ok"), "--weights", str(full)]) == 0
    for k in (1, 2):
        w = json.loads((tmp_path / "ok" / f"train{k}" / "weights.json").read_text())
        assert w["source"] == str(full) and w["sha256"] == sha256_file(full)
        assert w["counts"]["missing"] == 0 and w["counts"]["skipped_head"] == 2 and w["strict"] is True
        assert w["counts"]["loaded"] == len(w["loaded"]) and "fc.weight" in w["skipped_head"]
    res = json.loads((tmp_path / "ok" / "results.json").read_text())
    assert res["weights"]["train1"]["sha256"] == sha256_file(full)
    assert res["weights"]["train1"]["counts"]["mismatched"] == 0
    assert cli.main(base + ["--out", str(tmp_path / "loose"), "--weights", str(half),
                            "--set", "weights_strict=false"]) == 0
    w = json.loads((tmp_path / "loose" / "train1" / "weights.json").read_text())
    assert w["strict"] is False and w["counts"]["missing"] > 0


# ------------------------------------------------------------------------------------------------ PySlowFast
def to_pyslowfast(state: dict, multi: bool, x3d: bool) -> dict:
    """Our pytorchvideo names -> PySlowFast's native names, written from PySlowFast's module attributes
    (ResNet/SlowFast: s{k}.pathway{p}_res{i}.branch2.{a,b,c}{,_bn}, branch1{,_bn}, s{k}_fuse.{conv_f2s,bn},
    head.projection; X3D: pathway0_stem.{conv_xy,conv,bn}, branch2.se.fc{1,2}, head.{conv_5,conv_5_bn,lin_5})."""
    blocks = sorted({int(k.split(".")[1]) for k in state if ".res_blocks." in k})
    stage = {b: f"s{i + 2}" for i, b in enumerate(blocks)}
    out = {}
    for k, v in state.items():
        m = re.match(r"^blocks\.(\d+)\.(.*)$", k)
        b, rest = int(m.group(1)), m.group(2)
        p = 0
        if multi:
            mm = re.match(r"^multipathway_blocks\.(\d)\.(.*)$", rest)
            if mm:
                p, rest = int(mm.group(1)), mm.group(2)
        if b == 0 and not rest.startswith("multipathway_fusion"):
            rest = {"conv.conv_t.weight": "conv_xy.weight", "conv.conv_xy.weight": "conv.weight"}.get(rest, rest)
            out[f"s1.pathway{p}_stem." + rest.replace("norm.", "bn.")] = v
        elif rest.startswith("multipathway_fusion."):
            part = rest.split(".", 1)[1].replace("conv_fast_to_slow", "conv_f2s").replace("norm.", "bn.")
            out[f"{'s1' if b == 0 else stage[b]}_fuse.{part}"] = v
        elif rest.startswith("res_blocks."):
            _, i, tail = rest.split(".", 2)
            tail = (tail.replace("branch1_conv", "branch1").replace("branch1_norm", "branch1_bn")
                    .replace("norm_b.1.block.0", "se.fc1").replace("norm_b.1.block.2", "se.fc2")
                    .replace("norm_b.0", "b_bn"))
            tail = re.sub(r"conv_(a|b|c)\.", r"\1.", tail)
            tail = re.sub(r"norm_(a|b|c)\.", r"\1_bn.", tail)
            out[f"{stage[b]}.pathway{p}_res{i}.{tail}"] = v
        else:  # head
            rest = (rest.replace("pool.pre_conv", "conv_5").replace("pool.pre_norm", "conv_5_bn")
                    .replace("pool.post_conv", "lin_5").replace("proj.", "projection."))
            out[f"head.{rest}"] = v
    return out


@pytest.mark.parametrize("name,multi,x3d,official", [
    ("i3d_r50", False, False, ["s1.pathway0_stem.conv.weight", "s2.pathway0_res0.branch1_bn.running_mean",
                               "s5.pathway0_res2.branch2.c_bn.weight", "head.projection.weight"]),
    ("slowfast_r50", True, False, ["s1.pathway1_stem.conv.weight", "s1_fuse.conv_f2s.weight", "s4_fuse.bn.bias",
                                   "s3.pathway1_res3.branch2.b.weight", "head.projection.bias"]),
    ("x3d_m", False, True, ["s1.pathway0_stem.conv_xy.weight", "s1.pathway0_stem.conv.weight",
                            "s2.pathway0_res0.branch2.se.fc1.weight", "s2.pathway0_res1.branch2.b_bn.weight",
                            "head.conv_5.weight", "head.lin_5.weight"]),
])
def test_pyslowfast_native_checkpoints_load_exactly(name, multi, x3d, official, tmp_path):
    src = _randomize(create_model(name, num_classes=5))
    psf = to_pyslowfast(src.state_dict(), multi, x3d)
    assert set(official) <= set(psf), sorted(set(official) - set(psf))
    assert not any(k.startswith("blocks.") for k in psf)
    path = tmp_path / f"{name}.pyth"
    torch.save({"model_state": psf, "epoch": 196, "optimizer_state": {}}, path)
    dst = create_model(name, num_classes=5)
    rep = load_weights(dst, path, verbose=False)
    assert rep.layout == "PySlowFast native" and not rep.missing and not rep.mismatched and not rep.unexpected
    assert rep.matched == rep.total
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k
    other = create_model(name, num_classes=3)  # K400 head of another size: skipped, the rest exact
    rep = load_weights(other, path, verbose=False)
    assert rep.skipped_head and rep.matched == rep.total


# ----------------------------------------------------------------------------------------- torchvision ResNet
class _TVBottleneck(nn.Module):
    """torchvision's Bottleneck (v1.5: stride in conv2), same attribute names."""

    def __init__(self, cin, width, stride, down):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width)
        self.conv3, self.bn3 = nn.Conv2d(width, width * 4, 1, bias=False), nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU()
        self.downsample = nn.Sequential(nn.Conv2d(cin, width * 4, 1, stride, bias=False),
                                        nn.BatchNorm2d(width * 4)) if down else None

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + idt)


class _TVResNet50(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64)
        self.relu, self.maxpool = nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (w, n, s) in enumerate(((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))):
            blocks = [_TVBottleneck(cin if j == 0 else w * 4, w, s if j == 0 else 1, j == 0) for j in range(n)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            cin = w * 4
        self.fc = nn.Linear(2048, 1000)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return x.mean((2, 3))


def test_torchvision_resnet50_loads_into_resnet50_tsn_and_computes_the_same(tmp_path):
    tv = _randomize(_TVResNet50()).eval()
    state = {k: v for k, v in tv.state_dict().items() if not k.endswith("num_batches_tracked")}  # as released
    path = tmp_path / "resnet50-0676ba61.pth"
    torch.save(state, path)
    tsn = create_model("resnet50_tsn", num_classes=4).eval()
    rep = load_weights(tsn, path, verbose=False)
    assert rep.layout == "torchvision ResNet" and rep.matched == rep.total and not rep.mismatched
    assert rep.skipped_head == ["fc.bias", "fc.weight"]
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ours = tsn.backbone(pixel_values=x).pooler_output.flatten(1)
        assert torch.allclose(ours, tv.features(x), atol=1e-4, rtol=1e-4)


# ------------------------------------------------------------------------------------------------------ CLIP
W, LAYERS, HEADS, PATCH, IMG, EMBED = 64, 2, 2, 16, 32, 32


def _small_aim():
    from tabench.models.aim import AIM

    return AIM(num_classes=3, frames=2, size=IMG, patch=PATCH, width=W, layers=LAYERS, heads=HEADS,
               drop_path_rate=0.0, dropout=0.0).eval()


def _small_uniformerv2(**kw):
    from tabench.models.uniformerv2 import UniFormerV2

    return UniFormerV2(num_classes=3, frames=2, size=IMG, patch=PATCH, width=W, layers=LAYERS, heads=HEADS,
                       return_list=(0, 1), n_dim=W, n_head=HEADS, **kw).eval()


class _OpenAIBlock(nn.Module):
    def __init__(self):
        super().__init__()
        from tabench.models._clip_vit import QuickGELU

        self.attn = nn.MultiheadAttention(W, HEADS)
        self.ln_1, self.ln_2 = nn.LayerNorm(W), nn.LayerNorm(W)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(W, 4 * W)), ("gelu", QuickGELU()),
                                              ("c_proj", nn.Linear(4 * W, W))]))

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class _OpenAIVisual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, W, PATCH, PATCH, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(W))
        self.positional_embedding = nn.Parameter(torch.randn((IMG // PATCH) ** 2 + 1, W))
        self.ln_pre, self.ln_post = nn.LayerNorm(W), nn.LayerNorm(W)
        self.transformer = nn.Module()
        self.transformer.resblocks = nn.Sequential(*[_OpenAIBlock() for _ in range(LAYERS)])
        self.proj = nn.Parameter(torch.randn(W, EMBED))

    def forward(self, x):
        x = self.conv1(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_embedding.expand(x.shape[0], 1, -1), x], 1) + self.positional_embedding
        x = self.transformer.resblocks(self.ln_pre(x).permute(1, 0, 2))
        return self.ln_post(x[0])  # before the projection: what AIM's backbone returns per frame


class _OpenAICLIP(nn.Module):
    """OpenAI CLIP's top-level names: visual.*, and a text tower (token_embedding, ln_final, text_projection)."""

    def __init__(self):
        super().__init__()
        self.visual = _OpenAIVisual()
        self.token_embedding = nn.Embedding(100, W)
        self.ln_final = nn.LayerNorm(W)
        self.text_projection = nn.Parameter(torch.randn(W, EMBED))
        self.logit_scale = nn.Parameter(torch.tensor(4.6))

    def forward(self, image):
        return self.visual(image)


def _frames(b=2, t=2):
    torch.manual_seed(3)
    return torch.randn(b, 3, t, IMG, IMG)


@pytest.mark.parametrize("form", ["torchscript", "state_dict"])
def test_openai_clip_initialises_aim_and_computes_clip(form, tmp_path):
    clip = _randomize(_OpenAICLIP(), seed=1).eval()
    x = _frames()
    frames = x.transpose(1, 2).flatten(0, 1)
    path = tmp_path / "ViT-B-16.pt"
    if form == "torchscript":
        torch.jit.trace(clip, frames[:1]).save(str(path))
    else:
        torch.save(clip.state_dict(), path)
    aim = _small_aim()
    rep = load_weights(aim, path, verbose=False)
    assert rep.layout == "OpenAI CLIP" and not rep.missing and not rep.mismatched
    assert rep.new and all("Adapter" in k or "temporal_embedding" in k for k in rep.new)
    assert "visual.proj" not in rep.loaded and any(k.startswith("token_embedding") for k in rep.unexpected)
    with torch.no_grad():  # adapters start as no-ops: AIM's per-frame features are CLIP's
        assert torch.allclose(aim.backbone(x).flatten(0, 1), clip(frames), atol=1e-4)


def _hf_clip_dir(tmp_path, seed=2):
    from transformers import CLIPConfig, CLIPModel

    cfg = CLIPConfig(
        text_config=dict(hidden_size=W, intermediate_size=4 * W, num_hidden_layers=1, num_attention_heads=HEADS,
                         vocab_size=100, max_position_embeddings=16),
        vision_config=dict(hidden_size=W, intermediate_size=4 * W, num_hidden_layers=LAYERS,
                           num_attention_heads=HEADS, image_size=IMG, patch_size=PATCH, hidden_act="quick_gelu"),
        projection_dim=EMBED)
    torch.manual_seed(seed)
    model = _randomize(CLIPModel(cfg), seed).eval()
    path = tmp_path / "clip-vit-base-patch16"
    model.save_pretrained(path)
    return model, path


def test_hf_clip_directory_initialises_aim_and_computes_clip(tmp_path):
    hf, path = _hf_clip_dir(tmp_path)
    aim = _small_aim()
    rep = load_weights(aim, path, verbose=False)
    assert rep.layout == "Hugging Face CLIP" and not rep.missing and not rep.mismatched
    assert any(k.startswith("text_model.") for k in rep.unexpected)
    x = _frames()
    with torch.no_grad():
        want = hf.vision_model(pixel_values=x.transpose(1, 2).flatten(0, 1)).pooler_output
        assert torch.allclose(aim.backbone(x).flatten(0, 1), want, atol=1e-4)


def test_hf_clip_initialises_uniformerv2_with_the_patch_embedding_inflated(tmp_path):
    hf, path = _hf_clip_dir(tmp_path)
    uni = _small_uniformerv2()
    rep = load_weights(uni, path, verbose=False)
    assert rep.inflated == ["backbone.conv1.weight"] and not rep.missing and not rep.mismatched
    assert any(".dec." in k for k in rep.new) and not any("resblocks" in k for k in rep.new)
    w2d = hf.vision_model.embeddings.patch_embedding.weight
    assert torch.equal(uni.backbone.conv1.weight[:, :, 0], w2d)
    x = _frames()
    seen = []
    uni.backbone.transformer.resblocks[-1].register_forward_hook(lambda m, i, o: seen.append(o))
    with torch.no_grad():
        uni(x)
        want = hf.vision_model(pixel_values=x.transpose(1, 2).flatten(0, 1), output_hidden_states=True)
    assert torch.allclose(seen[0].permute(1, 0, 2), want.hidden_states[-1], atol=1e-4)


def test_three_tap_patch_embedding_is_centre_inflated():
    from tabench.models.keymaps import inflate_center

    w = torch.randn(8, 3, 4, 4)
    w3 = inflate_center(w, 3)
    assert w3.shape == (8, 3, 3, 4, 4) and torch.equal(w3[:, :, 1], w)
    assert w3[:, :, 0].abs().sum() == 0 and w3[:, :, 2].abs().sum() == 0


def test_a_clip_file_for_a_model_that_is_not_clip_is_refused(tmp_path):
    clip = _OpenAICLIP()
    path = tmp_path / "clip.pt"
    torch.save(clip.state_dict(), path)
    with pytest.raises(TabenchError, match="none of its|refused"):
        load_weights(_tiny(), path, verbose=False)
