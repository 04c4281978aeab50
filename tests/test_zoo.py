"""The paper's 13 models as the paper ran them: a GPU config for each that validates and builds the model it names
with the input it expects, and parameter counts against the published (or official-implementation) numbers."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tabench import config  # noqa: E402
from tabench.models import CLIP_MEAN, CLIP_STD, list_models, model_info  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GPU_CONFIGS = sorted((ROOT / "configs" / "gpu").glob("*.yaml"))

# The paper's 13 models (Sec. 4 "Implementation details": the model versions it used), by registered name.
PAPER_UNIMODAL = ["resnet50_tsn", "i3d_r50", "x3d_m", "slowfast_r50", "mvitv2_s", "rev_mvit_b", "uniformerv2_b16",
                  "aim_vit_b16"]
PAPER_VIDEO_TEXT = ["actionclip_b16", "xclip_b16", "vificlip_b16", "ezclip_b16", "froster_b16"]
PAPER_MODELS = PAPER_UNIMODAL + PAPER_VIDEO_TEXT
CLIP_INITIALISED = {"aim_vit_b16", "uniformerv2_b16", "uniformerv2_b16_ssv2", *PAPER_VIDEO_TEXT}


def test_every_paper_model_has_a_gpu_config():
    names = {yaml.safe_load(p.read_text())["model"] for p in GPU_CONFIGS}
    assert set(PAPER_MODELS) <= names, sorted(set(PAPER_MODELS) - names)
    assert {p.stem for p in GPU_CONFIGS} == names  # one file per model, named after it


@pytest.mark.parametrize("path", GPU_CONFIGS, ids=lambda p: p.stem)
def test_gpu_config_validates_and_builds_its_model_for_its_input(path):
    """Each configs/gpu/*.yaml passes validation, names a registered model, sets CLIP's mean/std when the model
    starts from CLIP, and the model it builds (meta device: no memory) expects the frames and size it is fed."""
    from tabench.train import build_model, resolve_input

    raw = yaml.safe_load(path.read_text())
    cfg = config.resolve(path)
    assert raw["model"] in list_models()
    info = model_info(raw["model"])
    if raw["model"] in CLIP_INITIALISED:
        assert raw.get("mean") == list(CLIP_MEAN) and raw.get("std") == list(CLIP_STD), "CLIP model without CLIP mean/std"
    r = resolve_input(cfg)
    assert r["mean"] == list(info.input_mean) and r["std"] == list(info.input_std)
    with torch.device("meta"):
        model = build_model({**cfg, "weights": None}, 26)
    assert (model.default_frames, model.default_size) == (r["frames"], r["size"])
    assert r["lr"] > 0 and r["epochs"] >= 1 and r["batch_size"] >= 1


# Published parameter counts (400-way head where the model has one), with the source of each figure.
# The video-text methods publish none of their own except EZ-CLIP's trainable 5.2M; their totals are the
# official implementations' (transformers' CLIPModel / XCLIPModel, counted below) plus the modules their papers add.
CLIP_B16 = 149_620_737  # OpenAI CLIP ViT-B/16 (transformers CLIPModel, openai/clip-vit-base-patch16 config)
PUBLISHED = {
    "resnet50_tsn": (23.5e6 + 2048 * 400 + 400, "ResNet-50 backbone 23.5M (He et al.) + 2048x400 fc"),
    "i3d_r50": (28.0e6, "PySlowFast / pytorchvideo model zoo I3D R50 8x8: 28.04M"),
    "x3d_m": (3.8e6, "X3D paper Tab. 3: X3D-M 3.8M"),
    "slowfast_r50": (34.6e6, "SlowFast R50 8x8 (PySlowFast model zoo): 34.6M"),
    "mvitv2_s": (34.5e6, "MViTv2 paper (K400): MViTv2-S 34.5M"),
    "rev_mvit_b": (34.9e6, "PySlowFast projects/rev README: Rev-MViT-B 16x4 34.9M"),
    "uniformerv2_b16": (115e6, "UniFormerV2 paper (K400): B/16 115M"),
    "aim_vit_b16": (97e6, "AIM paper (K400): ViT-B/16 97M total"),
    "vificlip_b16": (CLIP_B16, "ViFi-CLIP fine-tunes CLIP ViT-B/16 unchanged"),
    "actionclip_b16": (CLIP_B16 + 6 * 3_152_384 + 77 * 512,
                       "CLIP + ActionCLIP's 'Transf' fusion: 6 residual blocks of width 512 + 77x512 frame positions"),
    "xclip_b16": (None, "transformers XCLIPModel (microsoft/xclip-base-patch16 config)"),
    "ezclip_b16": (None, "EZ-CLIP paper: 5.2M learnable parameters (total = frozen CLIP + those)"),
    "froster_b16": (2 * CLIP_B16 + 4 * 512 * 512,
                    "FROSTER: CLIP student + frozen CLIP teacher + two bias-free 2-layer 512x512 projectors"),
}


def test_published_counts_cover_all_13_paper_models():
    assert set(PUBLISHED) == set(PAPER_MODELS)


@pytest.mark.parametrize("name", PAPER_MODELS)
def test_parameter_count_matches_the_published_number(name):
    info = model_info(name)
    ref, source = PUBLISHED[name]
    if name == "xclip_b16":
        from transformers import XCLIPConfig, XCLIPModel

        with torch.device("meta"):
            hf = XCLIPModel(XCLIPConfig(vision_config={"patch_size": 16}))
        ref = sum(p.numel() for p in hf.parameters())
        assert info.params_trainable == ref - sum(p.numel() for p in hf.text_model.parameters()) - \
            sum(p.numel() for p in hf.text_projection.parameters())  # X-CLIP keeps its text encoder frozen
    if name == "ezclip_b16":
        assert info.params_trainable == pytest.approx(5.2e6, rel=0.01), source
        ref = CLIP_B16 + info.params_trainable
    if name == "vificlip_b16":
        from transformers import CLIPConfig, CLIPModel

        with torch.device("meta"):
            hf = CLIPModel(CLIPConfig(vision_config={"patch_size": 16}))
        assert sum(p.numel() for p in hf.parameters()) == CLIP_B16
    rel = 0.05 if name in PAPER_UNIMODAL else 1e-6
    assert info.params_total == pytest.approx(ref, rel=rel), source


# ------------------------------------------------------------------------------------ UniFormerV2, SSv2 config
def test_uniformerv2_ssv2_configuration_as_published():
    """The SSv2 configuration the paper used for SSv2-TA: 163.0M parameters at 174 classes (within 1 %), global
    UniBlocks at layers 4-11, local MHRA before the attention and before the MLP of every block, and a 3-tap patch
    embedding with temporal stride 2."""
    from tabench.models import create_model

    info = model_info("uniformerv2_b16_ssv2")
    assert (info.frames, info.size) == (16, 224) and info.input_mean == CLIP_MEAN
    with torch.device("meta"):
        model = create_model("uniformerv2_b16_ssv2", num_classes=174)
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(163.0e6, rel=0.01)
    vit = model.backbone
    assert vit.transformer.return_list == list(range(4, 12)) and len(vit.transformer.dec) == 8
    assert all(blk.lmhra and hasattr(blk, "lmhra1") and hasattr(blk, "lmhra2") for blk in vit.transformer.resblocks)
    assert vit.conv1.kernel_size == (3, 16, 16) and vit.conv1.stride == (2, 16, 16)
    assert vit.transformer.resblocks[0].lmhra1.pos_embed[1].out_channels == 512  # DW_REDUCTION 1.5
    with torch.device("meta"):
        k400 = create_model("uniformerv2_b16", num_classes=174)
    assert k400.backbone.conv1.kernel_size == (1, 16, 16) and not k400.backbone.transformer.resblocks[0].lmhra


def _small_ssv2():
    from tabench.models.uniformerv2 import UniFormerV2
    from tests.test_weights import HEADS, IMG, LAYERS, PATCH, W

    return UniFormerV2(num_classes=3, frames=4, size=IMG, patch=PATCH, width=W, layers=LAYERS, heads=HEADS,
                       return_list=(0, 1), n_dim=W, n_head=HEADS, lmhra=True, temporal_downsample=True).eval()


def test_uniformerv2_ssv2_halves_time_and_every_parameter_learns():
    torch.manual_seed(0)
    model = _small_ssv2().train()
    seen = []
    model.backbone.transformer.resblocks[0].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    x = torch.randn(2, 3, 4, *(2 * [model.default_size]))
    torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 2])).backward()
    assert seen[0][1] == 2 * 2  # (tokens, B * T/2, C): 4 frames in, 2 token frames
    assert not [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]


def test_clip_initialises_uniformerv2_ssv2_with_a_centre_inflated_three_tap_embedding(tmp_path):
    """CLIP's 2D patch embedding becomes the centre tap of the 3-tap one (zeros elsewhere), as the official code
    inflates it: on a static clip every token frame then sees exactly CLIP's patch tokens, so the first block's
    output (local MHRA starts as a no-op) is CLIP's first layer."""
    from tabench.models import load_weights
    from tests.test_weights import _hf_clip_dir

    hf, path = _hf_clip_dir(tmp_path)
    model = _small_ssv2()
    rep = load_weights(model, path, verbose=False)
    assert rep.inflated == ["backbone.conv1.weight"] and not rep.missing and not rep.mismatched
    w = model.backbone.conv1.weight
    assert torch.equal(w[:, :, 1], hf.vision_model.embeddings.patch_embedding.weight)
    assert w[:, :, 0].abs().sum() == 0 and w[:, :, 2].abs().sum() == 0
    assert any("lmhra" in k for k in rep.new)
    torch.manual_seed(3)
    frame = torch.randn(2, 3, 1, model.default_size, model.default_size)
    seen = []
    model.backbone.transformer.resblocks[0].register_forward_hook(lambda m, i, o: seen.append(o))
    with torch.no_grad():
        model(frame.expand(-1, -1, 4, -1, -1).contiguous())
        want = hf.vision_model(pixel_values=frame[:, :, 0], output_hidden_states=True).hidden_states[1]
    got = seen[0].permute(1, 0, 2).view(2, 2, *want.shape[1:])  # (B, T/2, N, C)
    # interior token frame (its 3 taps all see real frames); the first one's left tap is zero padding, harmless too
    assert torch.allclose(got[:, 1], want, atol=1e-4) and torch.allclose(got[:, 0], want, atol=1e-4)


# ------------------------------------------------------------------------ Rev-MViT reversible back-propagation
def _small_rev_mvit(reversible: bool, drop_path: float = 0.3):
    from tabench.models.rev_mvit import RevMViT

    torch.manual_seed(0)  # runs of reversible blocks: [0], [2, 3], [5, 6] around stage transitions 1 and 4
    return RevMViT(num_classes=5, frames=4, size=32, depth=7, embed_dim=16, num_heads=1,
                   dim_mul=[[1, 2.0], [4, 2.0]], head_mul=[[1, 2.0], [4, 2.0]],
                   pool_q_stride=[[1, 1, 2, 2], [4, 1, 2, 2]], buffer_layers=(1, 4), drop_path_rate=drop_path,
                   dropout=0.0, reversible_backprop=reversible).double().train()


def _step(model, x, y, seed=5):
    saved = {}

    def pack(t):
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    torch.manual_seed(seed)  # the same drop-path masks for both models
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    torch.nn.functional.cross_entropy(out, y).backward()
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    return out.detach(), sum(v for k, v in saved.items() if k not in params)


def test_rev_mvit_reversible_backprop_gives_autograd_gradients_and_keeps_fewer_activations():
    """Recomputing activations in the backward (drop path on, so its masks must be replayed) gives the gradients
    plain autograd gives, to float64 precision, while autograd keeps far fewer activation bytes for the backward."""
    plain, rev = _small_rev_mvit(False), _small_rev_mvit(True)
    rev.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 4, 32, 32, dtype=torch.float64)
    y = torch.tensor([1, 3])
    out_plain, saved_plain = _step(plain, x, y)
    out_rev, saved_rev = _step(rev, x, y)
    assert torch.equal(out_plain, out_rev)
    for (name, a), (_, b) in zip(plain.named_parameters(), rev.named_parameters()):
        assert b.grad is not None, name
        assert torch.allclose(a.grad, b.grad, rtol=1e-7, atol=1e-10), name
    assert saved_rev < 0.6 * saved_plain, (saved_rev, saved_plain)
    # the global RNG is left as plain autograd leaves it (the replayed masks do not consume random numbers)
    torch.manual_seed(1)
    _step(rev, x, y, seed=1)
    after_rev = torch.rand(3)
    torch.manual_seed(1)
    _step(plain, x, y, seed=1)
    assert torch.equal(after_rev, torch.rand(3))


def test_rev_mvit_reversible_backprop_under_autocast():
    """The backward recomputes under the forward's autocast state (bf16 on CPU, as `amp` would on a GPU): the
    gradients stay close to plain autograd's (bf16 rounding of the rebuilt inputs is the only difference)."""
    grads = []
    for reversible in (False, True):
        model = _small_rev_mvit(reversible).float()
        torch.manual_seed(5)
        x = torch.randn(2, 3, 4, 32, 32)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(x)
        assert out.dtype == torch.bfloat16
        torch.nn.functional.cross_entropy(out.float(), torch.tensor([1, 3])).backward()
        assert all(p.grad is not None for p in model.parameters())
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    assert torch.isfinite(grads[1]).all()
    assert ((grads[1] - grads[0]).norm() / grads[0].norm()).item() < 0.03


def test_rev_mvit_uses_plain_autograd_in_eval_and_without_grad(monkeypatch):
    from tabench.models import create_model
    from tabench.models.rev_mvit import _ReversibleRun

    model = _small_rev_mvit(True).eval()
    calls, orig = [], _ReversibleRun.apply
    monkeypatch.setattr(_ReversibleRun, "apply", lambda *a: calls.append(1) or orig(*a))
    x = torch.randn(1, 3, 4, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        model(x)
    model.train()
    with torch.no_grad():
        model(x)
    assert not calls
    model(x)
    assert calls
    with torch.device("meta"):
        full = create_model("rev_mvit_b", num_classes=400)
    assert full.rev_backbone.reversible_backprop  # the registered model trains reversibly by default


# ---------------------------------------------------------------------------------------- DDP (2 gloo processes)
def _torchrun_worker(names: list[str], timeout: int, clip=None) -> str:
    import subprocess
    import sys

    from tests.test_train import _free_port

    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
           str(ROOT / "tests" / "ddp_worker.py"), *(["--clip", str(clip)] if clip else []), *names]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("DDP ")]
    assert r.returncode == 0 and len(lines) == len(names), "\n".join(lines) + "\n" + r.stderr[-3000:]
    assert all(ln.endswith(": ok") for ln in lines), "\n".join(lines)
    return r.stdout


def test_ddp_trains_rev_mvit_with_reversible_backprop():
    """The reversible autograd function returns its parameters' gradients through autograd, so DDP's reducer
    all-reduces them like any other: the full Rev-MViT-B trains under 2 gloo processes and the ranks agree."""
    _torchrun_worker(["rev_mvit_b"], timeout=300)


@pytest.mark.slow
def test_ddp_trains_every_cpu_sized_model():
    """`torchrun --nproc_per_node 2` (gloo): every CPU-sized model takes 3 DDP steps with the training loop's loss;
    a trainable parameter without a gradient would crash DDP from the second step (~1 min for all)."""
    names = [n for n in list_models() if model_info(n).cpu_sized]
    assert len(names) >= 15
    _torchrun_worker(names, timeout=900)


def _covered_elsewhere() -> set:
    """CPU-sized models whose every-parameter-gets-a-gradient check already runs in the default suite:
    tests/test_models.py (every unimodal model) and tests/test_videotext.py (the seven CPU video-text methods)."""
    from tests.test_models import UNIMODAL
    from tests.test_videotext import CPU_MODELS

    return set(UNIMODAL) | set(CPU_MODELS)


CPU_SIZED = [n for n in list_models() if model_info(n).cpu_sized]


@pytest.mark.parametrize("name", [n if n not in _covered_elsewhere() else pytest.param(n, marks=pytest.mark.slow)
                                  for n in CPU_SIZED])
def test_every_trainable_parameter_of_every_cpu_sized_model_gets_a_gradient(name):
    """What DDP needs from every step: one training-loop step (its loss: cross-entropy unless the method trains
    with its own, plus `auxiliary_loss(labels)`; disentangled models with fine targets) reaches every parameter
    that requires a gradient, and no frozen one. Models checked the same way elsewhere run here with `make test-all`."""
    from tests.ddp_worker import build, training_loss

    model = build(name)
    training_loss(model, model, torch.Generator().manual_seed(0)).backward()
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable
    assert not [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert all(p.grad is None for p in model.parameters() if not p.requires_grad)


FULL_SIZE_UNIMODAL = PAPER_UNIMODAL + ["x3d_s", "uniformerv2_b16_ssv2", "videodg_r50", "stdn_r50", "cir_slowfast"]


@pytest.mark.slow
def test_ddp_trains_every_full_size_unimodal_model():
    """The same at tiny input for the full-size unimodal models (the five _b16 video-text methods need CLIP files;
    their every-parameter-gets-a-gradient check is tests/test_videotext_weights.py). A few minutes."""
    assert set(FULL_SIZE_UNIMODAL) <= set(list_models())
    _torchrun_worker(FULL_SIZE_UNIMODAL, timeout=1500)


@pytest.mark.slow
def test_ddp_trains_the_clip_video_text_methods(tmp_path):
    """The five _b16 methods on a small random CLIP directory (2 layers: too shallow for the disentangled EZ-CLIP's
    two branch blocks, whose DDP run is ezclip_minilm_tiny_disentangle's) under 2 gloo processes, each with its own
    losses: no unused parameter, the ranks agree."""
    from tests.test_videotext import _tiny_hf_clip

    clip = _tiny_hf_clip(tmp_path)
    _torchrun_worker(PAPER_VIDEO_TEXT, timeout=900, clip=clip)
