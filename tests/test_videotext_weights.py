"""Video-text weights, as researchers have them: trained X-CLIP from a Hugging Face directory (checked numerically
against transformers' XCLIPModel) or its official checkpoint; `--weights` with CLIP files going to the CLIP loader;
the five methods' released checkpoint layouts (stand-ins with random weights in their repositories' key names);
and the architectures as published (FROSTER's temporal attention and per-frame distillation, every trainable
parameter of the ViT-B/16-style methods getting a gradient)."""
from __future__ import annotations

import gzip
import math
import os
import re
import string
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tabench import TabenchError  # noqa: E402
from tabench.models import create_model  # noqa: E402
from tabench.models.videotext import clip_io  # noqa: E402

from test_videotext import SET1, _clips, _OpenAICLIP, _tiny_hf_clip  # noqa: E402

MERGES = [f"{a} {b}" for a in string.ascii_lowercase for b in string.ascii_lowercase]  # 676 real merges
BPE_VOCAB = 512 + len(MERGES) + 2  # bytes, bytes</w>, merges, <|startoftext|>, <|endoftext|>
TEXTS = ["a person running", "a dog jumps", "two cars crash"]


def _write_bpe(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "bpe_simple_vocab_16e6.txt.gz", "wt", encoding="utf-8") as f:
        f.write("#version: test\n" + "\n".join(MERGES) + "\n")


# ---------------------------------------------------------------------------------------------- X-CLIP
def _xclip_config(vocab: int, heads: int = 2):
    from transformers import XCLIPConfig

    return XCLIPConfig(
        projection_dim=32, prompt_layers=2, prompt_num_attention_heads=heads,
        text_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=heads,
                         vocab_size=vocab, max_position_embeddings=40),
        vision_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=heads,
                           image_size=32, patch_size=16, num_frames=4, mit_hidden_size=32,
                           mit_intermediate_size=96, mit_num_hidden_layers=1, mit_num_attention_heads=heads))


def _random_xclip(vocab: int, heads: int = 2):
    from transformers import XCLIPModel

    torch.manual_seed(0)
    ref = XCLIPModel(_xclip_config(vocab, heads)).eval()
    with torch.no_grad():  # non-trivial LayerNorms and biases, so a swapped or missed key shows
        for p in ref.parameters():
            if p.ndim == 1:
                p.normal_(0, 0.3)
    return ref


def _video_features(ref, x):
    out = ref.get_video_features(pixel_values=x.permute(0, 2, 1, 3, 4))  # transformers wants (B, T, C, H, W)
    return getattr(out, "pooler_output", out)


def _rel(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("tokenizer", ["files", "bpe"])
def test_hugging_face_xclip_directory_loads_every_module_and_matches_transformers(tmp_path, tokenizer):
    """What XCLIPModel.save_pretrained writes (+ tokenizer files, or OpenAI's bpe vocabulary beside it) loads into
    xclip_b16 with every module, and encode_video / the logits / the text features equal transformers'."""
    if tokenizer == "files":
        tok = clip_io.load_minilm()[0]
        ref = _random_xclip(len(tok))
        ref.save_pretrained(tmp_path / "xclip")
        tok.save_pretrained(tmp_path / "xclip")
    else:
        ref = _random_xclip(BPE_VOCAB)
        ref.save_pretrained(tmp_path / "xclip")
        _write_bpe(tmp_path / "xclip")
    model = create_model("xclip_b16", num_classes=3, weights=str(tmp_path / "xclip"), class_texts=TEXTS).eval()
    assert model.weights_source["loaded"] == len(model.state_dict())  # every tensor of the model came from the dir
    assert torch.equal(model.prompts_visual_proj, ref.prompts_visual_projection)
    assert torch.equal(model.prompts_visual_ln.bias, ref.prompts_visual_layernorm.bias)
    assert torch.equal(model.message_attn[1].v_proj.bias, ref.vision_model.encoder.layers[1].message_attn.v_proj.bias)
    torch.manual_seed(1)
    x = torch.randn(2, 3, 4, 32, 32)  # tabench's (B, C, T, H, W)
    with torch.no_grad():
        assert _rel(model.encode_video(x), _video_features(ref, x)) < 1e-4
        enc = model.text.tokenizer(TEXTS, padding=True, return_tensors="pt")
        out = ref(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                  pixel_values=x.permute(0, 2, 1, 3, 4))
        assert _rel(model(x), out.logits_per_video) < 1e-4
        text = ref.get_text_features(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        assert _rel(model.class_embeddings(), getattr(text, "pooler_output", text)) < 1e-4
    # the same directory given as pretrained= (the builder's own argument) gives the same model
    same = create_model("xclip_b16", num_classes=3, pretrained=str(tmp_path / "xclip"), class_texts=TEXTS).eval()
    with torch.no_grad():
        assert torch.equal(same.encode_video(x), model.encode_video(x))


def test_hugging_face_xclip_directory_without_a_tokenizer_is_refused(tmp_path):
    _random_xclip(BPE_VOCAB).save_pretrained(tmp_path / "xclip")
    with pytest.raises(TabenchError, match="no tokenizer"):
        create_model("xclip_b16", num_classes=3, weights=str(tmp_path / "xclip"))


_HF_BLOCK = {"self_attn.out_proj": "attn.out_proj", "layer_norm1": "ln_1", "layer_norm2": "ln_2",
             "mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj"}


def _to_official_xclip(sd: dict) -> dict:
    """transformers XCLIPModel keys -> microsoft/VideoX X-CLIP checkpoint keys (written here, independently of
    tabench's map, in the opposite direction): fused in_proj, transposed projections, its module names."""
    out, qkv = {}, {}
    for k, v in sd.items():
        if k.endswith("position_ids"):
            continue
        k2 = k
        for a, b in (("vision_model.encoder.layers.", "visual.transformer.resblocks."),
                     ("text_model.encoder.layers.", "transformer.resblocks."),
                     ("mit.encoder.layers.", "mit.resblocks.")):
            k2 = k2.replace(a, b)
        if m := re.match(r"^(.*)\.(self_attn|message_attn)\.([qkv])_proj\.(weight|bias)$", k2):
            name = "attn" if m.group(2) == "self_attn" else "message_attn"
            qkv.setdefault((f"{m.group(1)}.{name}.in_proj_{m.group(4)}"), {})[m.group(3)] = v
            continue
        for a, b in _HF_BLOCK.items():
            k2 = k2.replace(f".{a}.", f".{b}.")
        k2 = {"vision_model.embeddings.patch_embedding.weight": "visual.conv1.weight",
              "vision_model.embeddings.class_embedding": "visual.class_embedding",
              "vision_model.embeddings.position_embedding.weight": "visual.positional_embedding",
              "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
              "text_model.embeddings.position_embedding.weight": "positional_embedding",
              "mit.position_embedding": "mit.positional_embedding",
              "prompts_visual_projection": "prompts_visual_proj"}.get(k2, k2)
        for a, b in (("vision_model.pre_layernorm.", "visual.ln_pre."), ("vision_model.post_layernorm.", "visual.ln_post."),
                     ("text_model.final_layer_norm.", "ln_final."), ("prompts_generator.layernorm.", "prompts_generator.norm."),
                     ("prompts_visual_layernorm.", "prompts_visual_ln.")):
            k2 = k2.replace(a, b) if k2.startswith(a) else k2
        if k2 in ("visual_projection.weight", "text_projection.weight"):
            out["visual.proj" if k2.startswith("visual") else "text_projection"] = v.t().contiguous()
            continue
        out[k2] = v
    for k, parts in qkv.items():
        out[k] = torch.cat([parts["q"], parts["k"], parts["v"]])
    return out


def test_official_xclip_checkpoint_loads_every_module(tmp_path):
    ref = _random_xclip(BPE_VOCAB, heads=1)  # the official code has no head counts: width / 64 (at least 1)
    sd = _to_official_xclip(ref.state_dict())
    assert "visual.transformer.resblocks.0.message_attn.in_proj_weight" in sd and "prompts_visual_proj" in sd
    torch.save({"model": {"module." + k: v for k, v in sd.items()}, "epoch": 30, "max_accuracy": 80.4},
               tmp_path / "k400_16_8.pth")  # main.py's layout (DDP's module. prefix), its yacs config left out
    _write_bpe(tmp_path)
    model = create_model("xclip_b16", num_classes=3, weights=str(tmp_path / "k400_16_8.pth"), class_texts=TEXTS).eval()
    assert model.weights_source["layout"] == "official X-CLIP checkpoint"
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        assert _rel(model.encode_video(x), _video_features(ref, x)) < 1e-4
        enc = model.text.tokenizer(TEXTS, padding=True, return_tensors="pt")
        out = ref(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], pixel_values=x.permute(0, 2, 1, 3, 4))
        assert _rel(model(x), out.logits_per_video) < 1e-4
    # the file the official code writes keeps its yacs config: refused with what to do instead
    torch.save({"model": sd, "config": _Opaque()}, tmp_path / "with_config.pth")
    with pytest.raises(TabenchError, match="save its weights alone"):
        create_model("xclip_b16", num_classes=3, weights=str(tmp_path / "with_config.pth"))


class _Opaque:  # stands for a yacs CfgNode: an object weights_only unpickling refuses
    pass


# ------------------------------------------------------------------------------ --weights -> the CLIP loader
def _openai_clip_pt(folder: Path, seed: int = 0) -> tuple[Path, dict]:
    torch.manual_seed(seed)
    ref = _OpenAICLIP(ctx=40, vocab=BPE_VOCAB).eval()
    _write_bpe(folder)
    torch.save(ref.state_dict(), folder / "ViT-T.pt")
    return folder / "ViT-T.pt", ref.state_dict()


@pytest.mark.parametrize("name", ["ezclip_b16", "vificlip_b16", "froster_b16"])
def test_weights_with_clip_files_go_to_the_clip_loader(tmp_path, name):
    """An OpenAI CLIP .pt given with --weights initialises the method from CLIP (it used to load 1 tensor)."""
    pt, sd = _openai_clip_pt(tmp_path)
    model = create_model(name, num_classes=3, weights=str(pt), class_texts=TEXTS)
    assert torch.equal(model.visual.proj.weight, sd["visual.proj"].t())
    assert torch.equal(model.visual.layers[1].mlp.fc1.bias, sd["visual.transformer.resblocks.1.mlp.c_fc.bias"])
    assert torch.equal(model.text.text_model.embeddings.token_embedding.weight, sd["token_embedding.weight"])
    assert model.logit_scale.item() == pytest.approx(sd["logit_scale"].item())
    model.eval()
    with torch.no_grad():
        assert model(_clips(2, 2, 16)).shape == (2, 3)


def test_weights_with_a_hugging_face_clip_directory_or_file(tmp_path):
    from safetensors.torch import save_file
    from transformers import CLIPModel

    d = _tiny_hf_clip(tmp_path)
    ref = CLIPModel.from_pretrained(d)
    by_weights = create_model("vificlip_b16", num_classes=4, weights=str(d), class_texts=SET1[:4])
    by_pretrained = create_model("vificlip_b16", num_classes=4, pretrained=str(d), class_texts=SET1[:4])
    for (k, a), b in zip(by_weights.state_dict().items(), by_pretrained.state_dict().values()):
        assert torch.equal(a, b), k
    # the weights file alone, tokenizer files beside it (no config.json): sizes read from the tensors
    solo = tmp_path / "solo"
    solo.mkdir()
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(solo / "model.safetensors"))
    clip_io.load_minilm()[0].save_pretrained(solo)
    model = create_model("vificlip_b16", num_classes=4, weights=str(solo / "model.safetensors"), class_texts=SET1[:4])
    assert torch.equal(model.visual.layers[1].self_attn.q_proj.weight,
                       ref.vision_model.encoder.layers[1].self_attn.q_proj.weight)


def test_weights_that_fit_nowhere_say_what_they_are(tmp_path):
    torch.save({"backbone.conv1.weight": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(TabenchError, match="unrecognised weights layout.*backbone.conv1.weight"):
        create_model("ezclip_b16", num_classes=3, weights=str(tmp_path / "other.pt"))
    _random_xclip(BPE_VOCAB).save_pretrained(tmp_path / "xclip")
    with pytest.raises(TabenchError, match="X-CLIP weights.*not ezclip_b16"):
        create_model("ezclip_b16", num_classes=3, weights=str(tmp_path / "xclip"))
    with pytest.raises(TabenchError, match="not found"):
        create_model("ezclip_b16", num_classes=3, weights=str(tmp_path / "missing.pt"))


def test_weights_from_a_tabench_checkpoint_load_exactly(tmp_path):
    torch.manual_seed(0)
    a = create_model("froster_minilm_tiny", num_classes=3, class_texts=TEXTS)
    torch.save({"model": a.state_dict(), "epoch": 2}, tmp_path / "best.pt")
    b = create_model("froster_minilm_tiny", num_classes=3, weights=str(tmp_path / "best.pt"), class_texts=TEXTS)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert b.weights_source["layout"] == "tabench"


# ------------------------------------------------------------------------ the methods' released layouts
def _adapter_keys(prefix: str, layers: int, width: int, g) -> dict:
    out = {}
    for i in range(layers):
        base = f"{prefix}transformer.resblocks.{i}.Adapter."
        out[base + "D_fc1.weight"] = torch.randn(width // 4, width, generator=g)
        out[base + "D_fc1.bias"] = torch.randn(width // 4, generator=g)
        out[base + "D_fc2.weight"] = torch.randn(width, width // 4, generator=g)
        out[base + "D_fc2.bias"] = torch.randn(width, generator=g)
    return out


def test_official_ezclip_checkpoint(tmp_path):
    _, clip = _openai_clip_pt(tmp_path)
    g = torch.Generator().manual_seed(1)
    sd = dict(clip)
    sd["visual.transformer.T_prompt_embeddings"] = torch.randn(2, 8, 64, generator=g)
    sd["visual.temporal_embedding"] = torch.zeros(1, 8, 64)
    sd.update(_adapter_keys("visual.", 2, 64, g))
    sd.update(_adapter_keys("", 2, 64, g))
    torch.save({"epoch": 10, "model_state_dict": sd, "optimizer_state_dict": {}}, tmp_path / "model_best.pt")
    model = create_model("ezclip_b16", num_classes=3, weights=str(tmp_path / "model_best.pt"), class_texts=TEXTS)
    assert torch.equal(model.temporal_prompts, sd["visual.transformer.T_prompt_embeddings"])
    assert torch.equal(model.adapters[1].up.weight, sd["visual.transformer.resblocks.1.Adapter.D_fc2.weight"])
    assert torch.equal(model.text.text_model.encoder.layers[0].adapter.down.bias,
                       sd["transformer.resblocks.0.Adapter.D_fc1.bias"])
    assert torch.equal(model.visual.proj.weight, clip["visual.proj"].t())
    model.eval()
    with torch.no_grad():
        assert model(_clips(2, 8, 16)).shape == (2, 3)


def _official_fusion_reference(fusion: dict, x: torch.Tensor) -> torch.Tensor:
    """ActionCLIP's "Transf" fusion computed from its checkpoint tensors with torch's own modules."""
    w = x.shape[-1]
    h = x + fusion["frame_position_embeddings.weight"][: x.shape[1]]
    n = len({k.split(".")[2] for k in fusion if k.startswith("transformer.resblocks.")})
    for i in range(n):
        p = lambda s: fusion[f"transformer.resblocks.{i}.{s}"]  # noqa: E731
        attn = nn.MultiheadAttention(w, max(1, w // 64), batch_first=True)
        attn.load_state_dict({"in_proj_weight": p("attn.in_proj_weight"), "in_proj_bias": p("attn.in_proj_bias"),
                              "out_proj.weight": p("attn.out_proj.weight"), "out_proj.bias": p("attn.out_proj.bias")})
        z = F.layer_norm(h, (w,), p("ln_1.weight"), p("ln_1.bias"), eps=1e-12)
        h = h + attn(z, z, z, need_weights=False)[0]
        z = F.linear(F.layer_norm(h, (w,), p("ln_2.weight"), p("ln_2.bias"), eps=1e-12), p("mlp.c_fc.weight"), p("mlp.c_fc.bias"))
        h = h + F.linear(z * torch.sigmoid(1.702 * z), p("mlp.c_proj.weight"), p("mlp.c_proj.bias"))
    return (h + x).mean(1)


def test_official_actionclip_checkpoint(tmp_path):
    _, clip = _openai_clip_pt(tmp_path)
    g = torch.Generator().manual_seed(2)
    fusion = {"frame_position_embeddings.weight": torch.randn(77, 32, generator=g)}
    for i in range(2):
        b = f"transformer.resblocks.{i}."
        for k, shape in (("attn.in_proj_weight", (96, 32)), ("attn.in_proj_bias", (96,)), ("attn.out_proj.weight", (32, 32)),
                         ("attn.out_proj.bias", (32,)), ("ln_1.weight", (32,)), ("ln_1.bias", (32,)),
                         ("mlp.c_fc.weight", (128, 32)), ("mlp.c_fc.bias", (128,)), ("mlp.c_proj.weight", (32, 128)),
                         ("mlp.c_proj.bias", (32,)), ("ln_2.weight", (32,)), ("ln_2.bias", (32,))):
            fusion[b + k] = torch.randn(*shape, generator=g) * 0.3
    torch.save({"epoch": 3, "model_state_dict": {"module." + k: v for k, v in clip.items()},
                "fusion_model_state_dict": {"module." + k: v for k, v in fusion.items()}, "optimizer_state_dict": {}},
               tmp_path / "model_best.pt")
    model = create_model("actionclip_b16", num_classes=3, weights=str(tmp_path / "model_best.pt"), class_texts=TEXTS)
    assert len(model.fusion.layers) == 2 and model.weights_source["layout"] == "official actionclip"
    frames = torch.randn(2, 5, 32)
    with torch.no_grad():
        assert torch.allclose(model.fusion(frames), _official_fusion_reference(fusion, frames), atol=1e-5)


def test_official_froster_checkpoint(tmp_path):
    _, student = _openai_clip_pt(tmp_path, seed=0)
    teacher = _OpenAICLIP(ctx=40, vocab=BPE_VOCAB).state_dict()
    g = torch.Generator().manual_seed(3)
    sd = {**{"model." + k: v for k, v in student.items()}, **{"raw_model." + k: v for k, v in teacher.items()}}
    for p in ("projector_v", "projector_t"):
        sd[f"{p}.0.weight"], sd[f"{p}.2.weight"] = torch.randn(32, 32, generator=g), torch.randn(32, 32, generator=g)
    torch.save({"epoch": 12, "model_state": sd, "optimizer_state": {}, "cfg": "TRAIN:\n  ENABLE: True\n"},
               tmp_path / "checkpoint_epoch_00012.pyth")
    model = create_model("froster_b16", num_classes=3, weights=str(tmp_path / "checkpoint_epoch_00012.pyth"),
                         class_texts=TEXTS)
    assert torch.equal(model.visual.proj.weight, student["visual.proj"].t())
    assert torch.equal(model.teacher_visual.proj.weight, teacher["visual.proj"].t())
    assert torch.equal(model.teacher_text.projection.weight, teacher["text_projection"].t())
    assert torch.equal(model.projector_t[2].weight, sd["projector_t.2.weight"])


def test_official_vificlip_checkpoint_needs_the_clip_it_started_from(tmp_path):
    pt, clip = _openai_clip_pt(tmp_path / "clip")
    trained = _OpenAICLIP(ctx=40, vocab=BPE_VOCAB).state_dict()
    sd = {"logit_scale": trained["logit_scale"], "prompt_learner.complete_text_embeddings": torch.randn(3, 40, 64)}
    for k, v in trained.items():
        if k.startswith("visual."):
            sd["image_encoder." + k[len("visual."):]] = v
        elif k != "token_embedding.weight" and k != "logit_scale":
            sd["text_encoder." + k] = v
    torch.save({"model": sd, "epoch": 10}, tmp_path / "vifi_clip_10_epochs_k400_full_finetuned.pth")
    with pytest.raises(TabenchError, match="no token embedding"):
        create_model("vificlip_b16", num_classes=3, weights=str(tmp_path / "vifi_clip_10_epochs_k400_full_finetuned.pth"))
    model = create_model("vificlip_b16", num_classes=3, weights=str(tmp_path / "vifi_clip_10_epochs_k400_full_finetuned.pth"),
                         pretrained=str(pt), class_texts=TEXTS)
    assert torch.equal(model.visual.proj.weight, trained["visual.proj"].t())
    assert torch.equal(model.text.text_model.embeddings.token_embedding.weight, clip["token_embedding.weight"])
    assert torch.equal(model.text.projection.weight, trained["text_projection"].t())
    with pytest.raises(TabenchError, match="fits vificlip_b16, not ezclip_b16"):
        create_model("ezclip_b16", num_classes=3, weights=str(tmp_path / "vifi_clip_10_epochs_k400_full_finetuned.pth"))


# ------------------------------------------------------------------------------ architectures as published
def test_froster_temporal_attention_sees_the_neighbouring_frames():
    """Frame t's queries attend to the keys/values of frames t+1, t-1 (zeros beyond the clip, still in the
    softmax) and t, through the block's own projections."""
    from transformers import CLIPVisionConfig
    from transformers.models.clip.modeling_clip import CLIPAttention

    from tabench.models.videotext.froster import temporal_attention

    torch.manual_seed(0)
    cfg = CLIPVisionConfig(hidden_size=8, num_attention_heads=1, intermediate_size=16)
    cfg._attn_implementation = "eager"
    attn = CLIPAttention(cfg).eval()
    b, t, length = 1, 3, 2
    h = torch.randn(b * t, length, 8)
    q, k, v = attn.q_proj(h), attn.k_proj(h), attn.v_proj(h)
    zero = torch.zeros(length, 8)
    want = []
    for f in range(t):
        keys = torch.cat([k[f + 1] if f + 1 < t else zero, k[f - 1] if f > 0 else zero, k[f]])
        vals = torch.cat([v[f + 1] if f + 1 < t else zero, v[f - 1] if f > 0 else zero, v[f]])
        want.append(attn.out_proj(((q[f] @ keys.t()) * attn.scale).softmax(-1) @ vals))
    with torch.no_grad():
        assert torch.allclose(temporal_attention(attn, h, b, t), torch.stack(want), atol=1e-5)


def test_froster_distils_every_frame_through_bias_free_projectors():
    from tabench.models.videotext.froster import ALPHA

    torch.manual_seed(0)
    model = create_model("froster_minilm_tiny", num_classes=3, class_texts=TEXTS)
    assert all(m.bias is None for m in model.projector_v if isinstance(m, nn.Linear))
    assert model.projector_v[2].weight.abs().sum() == 0 and not hasattr(model, "projector_t")  # frozen MiniLM
    nn.init.normal_(model.projector_v[2].weight, std=0.1)
    model.train()
    x = _clips(2, 3, 32)
    model(x)
    with torch.no_grad():
        z = model.student_frames(x).flatten(0, 1)
        teacher = F.normalize(model.teacher_visual(model.frames(x)), dim=-1)
        want = 2.0 * (1 - F.cosine_similarity(z + ALPHA * model.projector_v(z), teacher, dim=-1).mean())
    assert model.auxiliary_loss().item() == pytest.approx(want.item(), rel=1e-5)


@pytest.mark.parametrize("name", ["actionclip_b16", "xclip_b16", "vificlip_b16", "ezclip_b16", "froster_b16"])
def test_every_trainable_parameter_of_the_b16_methods_gets_a_gradient(tmp_path, name):
    """What DDP needs from every step (an unused parameter crashes it from the second step): the five methods on
    a small CLIP, one training step with their own losses."""
    d = _tiny_hf_clip(tmp_path)
    model = create_model(name, num_classes=3, pretrained=str(d), class_texts=SET1[:3])
    model.train()
    x, y = _clips(4, 3, 32), torch.tensor([0, 1, 2, 0])
    logits = model(x)
    loss = model.auxiliary_loss(y)
    if model.uses_cross_entropy:
        loss = loss + F.cross_entropy(logits, y)
    loss.backward()
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and not [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert all(p.grad is None for p in model.parameters() if not p.requires_grad)
