"""Video-text models: every method builds, trains a step (auxiliary loss included, frozen parts stay frozen) and
recognises captions it never trained on; MiniLM is real; CLIP weights load from a Hugging Face directory and from
OpenAI's key layout; the fine protocol gives 53-way known and 47-way unknown evaluations on Syn-TA."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tabench import TabenchError  # noqa: E402
from tabench.models import create_model, list_models, model_info  # noqa: E402
from tabench.models.videotext import DEFAULT_VIDEO_TEXT_MODEL, clip_io, core  # noqa: E402
from tabench.taxonomy import load  # noqa: E402

CPU_MODELS = ["vt_minilm_tiny", "vt_vit_minilm_tiny", "actionclip_minilm_tiny", "xclip_minilm_tiny", "vificlip_minilm_tiny",
              "ezclip_minilm_tiny", "froster_minilm_tiny"]
B16_MODELS = ["actionclip_b16", "xclip_b16", "vificlip_b16", "ezclip_b16", "froster_b16"]
TAX = load("syn-ta")
SET1, SET2 = TAX.labels(1, "fine"), TAX.labels(2, "fine")
# frozen backbone parts per method (everything else that has parameters must learn)
FROZEN = {"ezclip_minilm_tiny": ("visual.",),
          "froster_minilm_tiny": ("teacher_visual.",)}


def _clips(b=4, t=3, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 3, t, size, size, generator=g)


def test_registry_marks_video_text_models_and_names_the_default():
    names = set(list_models())
    assert set(CPU_MODELS) | set(B16_MODELS) <= names
    assert "minilm" in DEFAULT_VIDEO_TEXT_MODEL and DEFAULT_VIDEO_TEXT_MODEL in names
    for n in CPU_MODELS + B16_MODELS:
        info = model_info(n)
        assert info.video_text is True and info.family == "video-text"
        assert info.cpu_sized == (n in CPU_MODELS)
    assert not getattr(model_info("r3d_tiny"), "video_text", False)
    assert model_info("xclip_b16").default_size == 224
    assert model_info("vt_minilm_tiny").as_dict()["video_text"] is True


@pytest.mark.parametrize("name", CPU_MODELS)
def test_method_trains_a_step_and_recognises_unseen_captions(name):
    torch.manual_seed(0)
    train_texts, unseen = SET1[:6], SET2[:5]
    model = create_model(name, num_classes=6, templates=("{}", "a video of {}."))
    model.set_class_texts(train_texts)
    frozen_before = {k: v.detach().clone() for k, v in model.named_parameters() if not v.requires_grad}
    for prefix in FROZEN.get(name, ()):
        assert frozen_before and all(k in frozen_before for k, _ in model.named_parameters() if k.startswith(prefix))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    x, y = _clips(), torch.tensor([0, 1, 2, 0])
    model.train()
    logits = model(x)
    assert logits.shape == (4, 6) and torch.isfinite(logits).all()
    aux = model.auxiliary_loss(y)
    assert aux.ndim == 0 and torch.isfinite(aux)
    if name.startswith(("ezclip", "actionclip")):
        assert aux.item() > 0 and aux.requires_grad  # motion loss / KL video-text loss are active
    loss = F.cross_entropy(logits, y) + aux
    loss.backward()
    assert all(p.grad is None for p in model.parameters() if not p.requires_grad)
    learned = [n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0]
    assert any(n.startswith("text_proj") for n in learned)  # MiniLM captions reach the video space
    assert any(n.startswith(("visual.", "adapters", "temporal_prompts", "message")) for n in learned)
    # every trainable parameter got a gradient (DDP needs that; a zero-initialised adapter's input layer gets
    # an all-zero one on the first step). The disentangled variant is issue 12's (its fine projection).
    if not name.startswith("ezclip_disentangle"):
        assert not [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    opt.step()
    for k, v in model.named_parameters():
        if k in frozen_before:
            assert torch.equal(v, frozen_before[k]), f"{k} is frozen but changed"
    # zero-shot: captions of the other set, never trained on, define a new 5-way label space
    model.eval()
    model.set_class_texts(unseen)
    with torch.no_grad():
        out = model(x)
    assert out.shape == (4, 5) and torch.isfinite(out).all()
    assert model.auxiliary_loss().item() == 0.0  # no training loss at evaluation


def test_text_embeddings_follow_the_captions_and_frozen_text_is_cached(monkeypatch):
    model = create_model(DEFAULT_VIDEO_TEXT_MODEL, num_classes=3, class_texts=SET1[:3], templates=("{}",))
    e1 = model.class_embeddings()
    calls = []
    orig = type(model.text).forward
    monkeypatch.setattr(type(model.text), "forward", lambda self, t: calls.append(len(t)) or orig(self, t))
    assert torch.allclose(model.class_embeddings(), e1) and calls == []  # cached: MiniLM not run again
    model.set_class_texts(SET1[1:3])
    assert torch.allclose(model.class_embeddings(), e1[1:3], atol=1e-6)
    with pytest.raises(TabenchError, match="non-empty list"):
        model.set_class_texts([])
    fresh = create_model(DEFAULT_VIDEO_TEXT_MODEL, num_classes=3)
    with pytest.raises(TabenchError, match="set_class_texts"):
        fresh(_clips(1))


@pytest.mark.parametrize("name", ["vificlip_minilm_tiny", "actionclip_minilm_tiny"])  # all / random templates
def test_trainable_text_tower_is_rerun_every_forward(name):
    model = create_model(name, num_classes=3, class_texts=SET1[:3], templates=("{}", "a video of {}."),
                         train_text=1)
    assert model.text.trainable
    model.train()
    model(_clips(2)).sum().backward()
    grads = [p.grad for p in model.text.parameters() if p.requires_grad]
    assert grads and any(g is not None and g.abs().sum() > 0 for g in grads)


def test_minilm_embeddings_are_real():
    tower = core.MiniLMText()
    e = tower(["a ball rolls to the left", "a ball is rolling leftwards", "the stock market fell sharply today"])
    sim = e @ e.t()
    assert e.shape == (3, 384) and torch.allclose(e.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert sim[0, 1] > sim[0, 2] + 0.3
    ids = tower.tokenizer("a video of a person riding a bicycle", add_special_tokens=False)["input_ids"]
    assert ids == [1037, 2678, 1997, 1037, 2711, 5559, 1037, 10165]  # bert-base-uncased vocabulary


def test_a_broken_tokenizer_is_refused(tmp_path):
    from transformers import BertTokenizer

    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\na\nvideo\n")
    tok = BertTokenizer(str(tmp_path / "vocab.txt"))
    with pytest.raises(TabenchError, match=r"only \d tokens"):
        clip_io.check_tokenizer(tok, "tiny")


def test_named_pretrained_model_not_available_locally_is_a_clear_error():
    with pytest.raises(TabenchError, match="not available locally"):
        create_model("ezclip_b16", num_classes=1, pretrained="openai/clip-vit-base-patch16")


def test_clip_text_tower_without_weights_says_so():
    size = dict(core.SIZES["tiny"], text_width=64, text_layers=1, text_heads=1, context=16, vocab=1000, embed_dim=32)
    tower = core.random_clip_text(size)
    with pytest.raises(TabenchError, match="pretrained=DIR_OR_FILE"):
        tower(["a video"])


# ------------------------------------------------------------------------------------------ CLIP weights
def _tiny_hf_clip(tmp_path: Path) -> Path:
    """A tiny random CLIP saved with save_pretrained, with a real (MiniLM's BERT) tokenizer next to it."""
    from transformers import CLIPConfig, CLIPModel

    tok = clip_io.load_minilm()[0]
    cfg = CLIPConfig(projection_dim=32,
                     text_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=2,
                                      vocab_size=len(tok), max_position_embeddings=32, eos_token_id=tok.sep_token_id,
                                      bos_token_id=tok.cls_token_id, pad_token_id=tok.pad_token_id),
                     vision_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                        num_attention_heads=2, image_size=32, patch_size=16))
    torch.manual_seed(0)
    CLIPModel(cfg).save_pretrained(tmp_path / "clip")
    tok.save_pretrained(tmp_path / "clip")
    return tmp_path / "clip"


@pytest.mark.parametrize("name", ["xclip_b16", "ezclip_b16"])
def test_clip_weights_load_from_a_hugging_face_directory(tmp_path, name):
    from transformers import CLIPModel

    d = _tiny_hf_clip(tmp_path)
    ref = CLIPModel.from_pretrained(d)
    model = create_model(name, num_classes=4, pretrained=str(d), class_texts=SET1[:4], templates=("{}",))
    assert torch.equal(model.visual.proj.weight, ref.visual_projection.weight)
    assert torch.equal(model.visual.layers[1].mlp.fc2.weight, ref.vision_model.encoder.layers[1].mlp.fc2.weight)
    assert model.logit_scale.item() == pytest.approx(ref.logit_scale.item())
    assert isinstance(model.text_proj, nn.Identity)  # CLIP text already lives in the joint space
    with torch.no_grad():  # the CLIP text tower gives CLIP's own text features
        ids = model.text.tokenizer(SET1[:2], padding=True, return_tensors="pt")
        out = ref.get_text_features(**ids)
        want = F.normalize(getattr(out, "pooler_output", out), dim=-1)  # a tensor in older transformers
        got = F.normalize(model.text(SET1[:2]), dim=-1)
    assert torch.allclose(got, want, atol=1e-5)
    model.eval()
    with torch.no_grad():
        assert model(_clips(2, 2, 32)).shape == (2, 4)


class _OpenAIBlock(nn.Module):
    """OpenAI CLIP's ResidualAttentionBlock (key names and fused in-projection as in its released weights)."""

    def __init__(self, w, heads, mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(w, heads)
        self.ln_1, self.ln_2 = nn.LayerNorm(w), nn.LayerNorm(w)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(w, 4 * w))
        self.mlp.add_module("c_proj", nn.Linear(4 * w, w))
        self.mask = mask

    def forward(self, x):  # x: (L, N, W)
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=self.mask)[0]
        h = self.mlp.c_fc(self.ln_2(x))
        return x + self.mlp.c_proj(h * torch.sigmoid(1.702 * h))


class _OpenAICLIP(nn.Module):
    """A minimal OpenAI-layout CLIP ViT (random weights) used as the reference for the key mapping."""

    def __init__(self, w=64, layers=2, patch=8, grid=2, ctx=12, vocab=300, dim=32):
        super().__init__()
        self.visual = nn.Module()
        v = self.visual
        v.conv1 = nn.Conv2d(3, w, patch, patch, bias=False)
        v.class_embedding = nn.Parameter(torch.randn(w) * 0.1)
        v.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, w) * 0.1)
        v.ln_pre, v.ln_post = nn.LayerNorm(w), nn.LayerNorm(w)
        v.transformer = nn.Module()
        v.transformer.resblocks = nn.Sequential(*[_OpenAIBlock(w, 1) for _ in range(layers)])
        v.proj = nn.Parameter(torch.randn(w, dim) * 0.1)
        mask = torch.full((ctx, ctx), float("-inf")).triu(1)
        self.transformer = nn.Module()
        self.transformer.resblocks = nn.Sequential(*[_OpenAIBlock(w, 1, mask) for _ in range(layers)])
        self.token_embedding = nn.Embedding(vocab, w)
        self.positional_embedding = nn.Parameter(torch.randn(ctx, w) * 0.1)
        self.ln_final = nn.LayerNorm(w)
        self.text_projection = nn.Parameter(torch.randn(w, dim) * 0.1)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        for p in self.parameters():  # non-trivial LayerNorm and bias values, so a swapped key would show
            if p.ndim == 1:
                p.data.normal_(0, 0.3)

    def encode_image(self, img):
        v = self.visual
        x = v.conv1(img).flatten(2).transpose(1, 2)
        x = torch.cat([v.class_embedding.expand(x.shape[0], 1, -1), x], 1) + v.positional_embedding
        x = v.transformer.resblocks(v.ln_pre(x).transpose(0, 1)).transpose(0, 1)
        return v.ln_post(x[:, 0]) @ v.proj

    def encode_text(self, ids):
        x = self.token_embedding(ids) + self.positional_embedding
        x = self.transformer.resblocks(x.transpose(0, 1)).transpose(0, 1)
        x = self.ln_final(x)
        return x[torch.arange(ids.shape[0]), ids.argmax(-1)] @ self.text_projection


def test_openai_key_mapping_reproduces_the_openai_model(tmp_path):
    from transformers import CLIPModel

    torch.manual_seed(0)
    ref = _OpenAICLIP().eval()
    sd = ref.state_dict()
    assert "visual.transformer.resblocks.0.attn.in_proj_weight" in sd and "text_projection" in sd
    hf = CLIPModel(clip_io.openai_config(sd)).eval()
    missing, unexpected = hf.load_state_dict(clip_io.openai_to_hf(sd), strict=False)
    assert not unexpected and all(k.endswith("position_ids") for k in missing)
    img = torch.randn(2, 3, 16, 16)
    eot = 299  # the end-of-text token is the vocabulary's last id, as in OpenAI's tokenizer
    ids = torch.tensor([[298, 5, 17, 42, eot] + [0] * 7, [298, 9, eot] + [0] * 9])
    with torch.no_grad():
        img_hf = hf.get_image_features(pixel_values=img)
        txt_hf = hf.get_text_features(input_ids=ids)
        img_hf = getattr(img_hf, "pooler_output", img_hf)
        txt_hf = getattr(txt_hf, "pooler_output", txt_hf)
        assert torch.allclose(img_hf, ref.encode_image(img), atol=1e-5)
        assert torch.allclose(txt_hf, ref.encode_text(ids), atol=1e-5)
    # the same weights saved as an OpenAI-style .pt load through load_clip (no tokenizer next to it: refused)
    torch.save(sd, tmp_path / "ViT-T.pt")
    model, tok = clip_io.load_clip(tmp_path / "ViT-T.pt", need_tokenizer=False)
    assert tok is None and torch.equal(model.visual_projection.weight, sd["visual.proj"].t())
    with pytest.raises(TabenchError, match="no tokenizer"):
        clip_io.load_clip(tmp_path / "ViT-T.pt")


# ------------------------------------------------------------------------------------------ fine protocol
def _write_mp4(path: Path, frames: np.ndarray) -> None:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=12)
        s.height, s.width = frames.shape[1:3]
        s.pix_fmt = "yuv420p"
        for f in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        c.mux(s.encode())


def _tiny_synta(root: Path) -> Path:
    """Syn-TA taxonomy, two fine classes per set (coarse 0 and 1), one train and one val mp4 each."""
    from tabench.data.format import VideoEntry, write_dataset

    rng = np.random.default_rng(0)
    entries = []
    for set_id in (1, 2):
        for coarse in (0, 1):
            fine = next(f for f in TAX.fine_of_set(set_id) if f.coarse_id == coarse)
            for split in ("train", "val"):
                rel = f"videos/{fine.slug}/{split}_0000.mp4"
                _write_mp4(root / rel, rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8))
                entries.append(VideoEntry(rel, set_id, split, coarse, fine.id))
    write_dataset(root, TAX, entries)
    return root


def test_fine_protocol_gives_53_way_known_and_47_way_unknown(tmp_path, monkeypatch, capsys):
    from tabench import config
    from tabench.models.videotext.core import VideoTextModel
    from tabench.protocol import run_benchmark
    from tabench.results import load_run, read_predictions

    data = _tiny_synta(tmp_path / "data")
    seen: list[int] = []
    orig = VideoTextModel.set_class_texts
    monkeypatch.setattr(VideoTextModel, "set_class_texts", lambda self, t: seen.append(len(t)) or orig(self, t))
    cfg = config.resolve(overrides=dict(model=DEFAULT_VIDEO_TEXT_MODEL, frames=2, size=32, batch_size=2, epochs=1,
                                        lr=1e-3, workers=0, progress=False, tensorboard=False, warmup_epochs=0.0,
                                        threads=1))
    cfg = config.merge(cfg, {"model_kwargs": {"templates": ["{}"]}})
    run_benchmark(cfg, data, tmp_path / "run", level="fine")
    # train on Set 1's 53 captions, known = Set 1's 53, unknown = Set 2's 47 captions; then the reverse
    assert 53 in seen and 47 in seen
    for k, (n_known, n_unknown) in ((1, (53, 47)), (2, (47, 53))):
        for kind, n in (("known", n_known), ("unknown", n_unknown)):
            preds = read_predictions(tmp_path / "run", k, kind)
            assert len(preds) == 2 and all(0 <= p.pred < n and 0 <= p.true < n for p in preds)
        known = {p.path.split("/")[1] for p in read_predictions(tmp_path / "run", k, "known")}
        assert known <= {f.slug for f in TAX.fine_of_set(k)}
    res = load_run(tmp_path / "run")
    assert res["level"] == "fine" and res["model"] == DEFAULT_VIDEO_TEXT_MODEL


def test_openai_pt_with_its_bpe_vocabulary_builds_a_b16_method(tmp_path):
    """OpenAI's file layout end to end: a .pt state dict with bpe_simple_vocab_16e6.txt.gz next to it."""
    import gzip
    import string

    merges = [f"{a} {b}" for a in string.ascii_lowercase for b in string.ascii_lowercase]  # 676 real merges
    with gzip.open(tmp_path / "bpe_simple_vocab_16e6.txt.gz", "wt", encoding="utf-8") as f:
        f.write("#version: test\n" + "\n".join(merges) + "\n")
    vocab = 512 + len(merges) + 2  # bytes, bytes</w>, merges, <|startoftext|>, <|endoftext|>
    torch.manual_seed(0)
    ref = _OpenAICLIP(ctx=40, vocab=vocab).eval()
    torch.save(ref.state_dict(), tmp_path / "ViT-T.pt")
    model = create_model("vificlip_b16", num_classes=3, pretrained=str(tmp_path / "ViT-T.pt"),
                         class_texts=SET1[:3], templates=("{}",))
    tok = model.text.tokenizer
    ids = tok(SET1[0], padding="max_length", max_length=40, return_tensors="pt")["input_ids"]
    assert ids[0, 0] == vocab - 2 and (ids[0] == vocab - 1).sum() == 1  # start and end of text
    with torch.no_grad():
        assert torch.allclose(model.text([SET1[0]]), ref.encode_text(ids), atol=1e-5)
        model.eval()
        assert model(_clips(2, 2, 16)).shape == (2, 3)


def test_default_model_fits_a_small_batch():
    """The CPU default really learns: it fits 8 clips of 4 classes within a few dozen steps."""
    torch.manual_seed(0)
    model = create_model(DEFAULT_VIDEO_TEXT_MODEL, num_classes=4, class_texts=TAX.coarse_names()[:4],
                         templates=("{}",))
    x, y = _clips(8, 4, 32, seed=1), torch.arange(8) % 4
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-3)
    model.train()
    for _ in range(30):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        assert (model(x).argmax(1) == y).float().mean() == 1.0


@pytest.mark.parametrize("name", ["actionclip_minilm_tiny", "xclip_minilm_tiny", "vificlip_minilm_tiny",
                                  "ezclip_minilm_tiny", "froster_minilm_tiny"])
def test_each_method_runs_the_coarse_and_fine_protocols_end_to_end(tmp_path, name):
    from tabench import config
    from tabench.protocol import run_benchmark
    from tabench.results import load_run, read_predictions

    data = _tiny_synta(tmp_path / "data")
    cfg = config.resolve(overrides=dict(model=name, frames=2, size=32, batch_size=2, epochs=1, lr=1e-3, workers=0,
                                        progress=False, tensorboard=False, warmup_epochs=0.0, threads=1))
    cfg = config.merge(cfg, {"model_kwargs": {"templates": ["{}"]}})
    for level, sizes in (("coarse", (20, 20)), ("fine", (53, 47))):
        run_benchmark(cfg, data, tmp_path / level, level=level)
        res = load_run(tmp_path / level)
        assert res["model"] == name and res["level"] == level and len(res["directions"]) == 2
        for k, n_known, n_unknown in ((1,) + sizes, (2,) + sizes[::-1]):
            for kind, n in (("known", n_known), ("unknown", n_unknown)):
                assert all(0 <= p.pred < n for p in read_predictions(tmp_path / level, k, kind))


def test_vt_minilm_tiny_encoders():
    from tabench.models.videotext.core import ConvVideoEncoder, DiffGridVideoEncoder

    texts = SET1[:3]
    default = create_model("vt_minilm_tiny", num_classes=3, class_texts=texts, templates=("{}",))
    r3d = create_model("vt_minilm_tiny", num_classes=3, class_texts=texts, templates=("{}",), encoder="r3d")
    assert isinstance(default.visual, DiffGridVideoEncoder) and isinstance(r3d.visual, ConvVideoEncoder)
    with torch.no_grad():
        assert default.eval()(_clips(2, 8, 48)).shape == r3d.eval()(_clips(2, 8, 48)).shape == (2, 3)
    with pytest.raises(TabenchError, match="encoder"):
        create_model("vt_minilm_tiny", num_classes=3, class_texts=texts, encoder="vit")


# ------------------------------------------------------------------------------------------ EZ-CLIP as published
def test_ezclip_b16_trains_exactly_the_official_parameters():
    """EZ-CLIP-B/16: 12 x 8 temporal prompts (768) + visual adapters 768->192 + text adapters 512->128 = 5.20M, as
    the paper's ~5.2M; CLIP frozen, logit scale included."""
    with torch.device("meta"):
        model = create_model("ezclip_b16", num_classes=400)
    trained = {n: p.numel() for n, p in model.named_parameters() if p.requires_grad}
    assert sum(trained.values()) == 12 * 8 * 768 + 12 * (2 * 768 * 192 + 192 + 768) + 12 * (2 * 512 * 128 + 128 + 512)
    assert sum(trained.values()) == 5_204_736
    assert tuple(model.temporal_prompts.shape) == (12, 8, 768) and not model.logit_scale.requires_grad
    assert all(n.startswith(("temporal_prompts", "adapters.")) or ".adapter." in n for n in trained)
    assert len(model.text_adapters) == 12 and model.uses_cross_entropy is False


def test_ezclip_motion_loss_is_the_official_formula():
    from tabench.models.videotext.ezclip import motion_loss

    e = torch.tensor([[[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]]])  # (B=1, T=3, D=2)
    # central differences with replicated ends: t0: e1-e0, t1: (e2-e0), t2: e2-e1 ; halved
    c = (torch.tensor([[2.0, 0.0], [4.0, 3.0], [2.0, 3.0]]) / 2).mean()
    v = e[0].var(0).mean()  # unbiased variance over time, mean over channels
    assert motion_loss(e).item() == pytest.approx(1 / (c + v + 1).item())
    assert motion_loss(torch.zeros(2, 4, 3)).item() == 1.0  # a still video: the largest loss


def test_ezclip_block_matches_the_official_equations():
    """One block by hand: the frame's prompt = P[t] + mean of its tokens, through the block's own ln_1 and attention
    across frames (no residual), appended for the spatial attention, dropped before adapter and MLP."""
    torch.manual_seed(0)
    model = create_model("ezclip_minilm_tiny", num_classes=2, class_texts=["a", "b"]).eval()
    for a in model.adapters:  # non-zero adapters, so the order adapter -> MLP matters
        nn.init.normal_(a.up.weight, std=0.1)
    vis, b, t = model.visual, 2, 3
    x = torch.randn(b * t, 5, vis.width)
    layer = vis.layers[0]
    attn = lambda h: layer.self_attn(hidden_states=layer.layer_norm1(h))[0]  # noqa: E731
    p = model.temporal_prompts[0, :t] + x.view(b, t, 5, -1).mean(2)
    p = attn(p)
    h = torch.cat([x, p.reshape(b * t, 1, -1)], 1)
    h = (h + attn(h))[:, :5]
    h = model.adapters[0](h)
    want = h + layer.mlp(layer.layer_norm2(h))
    with torch.no_grad():
        assert torch.allclose(model.block(0, x, b, t), want, atol=1e-5)
        assert torch.allclose(model.adapters[0](x), x + model.adapters[0].up(F.gelu(model.adapters[0].down(x))))
    with pytest.raises(TabenchError, match="frames"):
        model.block(0, torch.randn(9 * 2, 5, vis.width), 2, 9)


def test_ezclip_and_actionclip_train_with_the_kl_loss_only(tmp_path):
    """No cross-entropy: the official loss is ActionCLIP's KL loss (+ EZ-CLIP's motion loss); evaluation averages
    per-template softmax scores."""
    from tabench.models.videotext.core import kl_video_text_loss

    torch.manual_seed(0)
    v, t = F.normalize(torch.randn(4, 8), dim=-1), F.normalize(torch.randn(4, 8), dim=-1)
    y = torch.tensor([0, 1, 0, 2])
    logits = 10 * v @ t.t()
    truth = F.softmax(10 * (y[:, None] == y[None]).float(), 1)
    want = sum(nn.KLDivLoss(reduction="mean")(F.log_softmax(z, 1), truth) * 4 for z in (logits, logits.t())) / 2
    assert kl_video_text_loss(v, t, y, torch.tensor(10.0)).item() == pytest.approx(want.item(), rel=1e-5)
    for name in ("ezclip_minilm_tiny", "actionclip_minilm_tiny"):
        model = create_model(name, num_classes=3, class_texts=SET1[:3], templates=("{}", "a video of {}."))
        assert model.uses_cross_entropy is False
        model.train()
        model(_clips(4))
        with pytest.raises(TabenchError, match="labels"):
            model.auxiliary_loss()
        model.eval()
        with torch.no_grad():
            out = model(_clips(2))
            video = F.normalize(model.encode_video(_clips(2)), dim=-1)
            per = model.template_embeddings()
            scale = model.logit_scale.exp()
            probs = torch.stack([(scale * video @ per[:, j].t()).softmax(-1) for j in range(2)]).mean(0)
        assert torch.allclose(out.exp(), probs, atol=1e-5)
