"""The unimodal model zoo: every registered model honours the training loop's interface, full-size models have
their published parameter counts, and checkpoints load in the layouts official code saves."""
import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tabench import TabenchError  # noqa: E402
from tabench.cli import main  # noqa: E402
from tabench.models import (DEFAULT_CPU_MODEL, create_model, list_models, load_weights,  # noqa: E402
                            model_info)

UNIMODAL = [n for n in list_models() if not model_info(n).module.startswith("tabench.models.videotext")
            and not getattr(model_info(n), "video_text", False)]
PAPER_MODELS = {"resnet50_tsn", "i3d_r50", "x3d_s", "x3d_m", "slowfast_r50", "mvitv2_s", "rev_mvit_b",
                "uniformerv2_b16", "aim_vit_b16"}
CPU_MODELS = {"x3d_xs", "r3d_tiny", "vivit_tiny", "rgbdiff_tiny"}
AIM_TRAINABLE = ("Adapter", "temporal_embedding", "ln_post", "cls_head")


def test_zoo_has_the_paper_models_and_cpu_models():
    assert PAPER_MODELS | CPU_MODELS <= set(UNIMODAL)
    assert DEFAULT_CPU_MODEL in CPU_MODELS and model_info(DEFAULT_CPU_MODEL).cpu_sized
    assert not any(model_info(n).cpu_sized for n in PAPER_MODELS)


# The heaviest forward+backward passes (> ~20 s on a busy 2-core machine) run with `make test-all`;
# resnet50_tsn's forward is still exercised by the frame-order test below.
SLOW = {"slowfast_r50", "resnet50_tsn", "uniformerv2_b16", "uniformerv2_b16_ssv2", "mvitv2_s", "stdn_r50", "cir_slowfast"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in UNIMODAL])
def test_forward_backward_at_tiny_input(name):
    """The full registered architecture at a tiny input: (B,3,T,H,W) -> logits, gradients reach what trains."""
    torch.manual_seed(0)
    model = create_model(name, num_classes=3).train()
    assert isinstance(model.default_frames, int) and isinstance(model.default_size, int)
    t = 8 if name.startswith("slowfast") else 4
    if getattr(model, "fixed_frames", False):  # the clip length is part of the architecture (DG methods)
        t = model.default_frames
    if hasattr(model, "set_label_names"):
        model.set_label_names(["a", "b", "c"])
    x = torch.randn(2, 3, t, 32, 32)
    out = model(x)
    assert out.shape == (2, 3) and torch.isfinite(out).all()
    y = torch.tensor([0, 2])
    loss = torch.nn.functional.cross_entropy(out, y)
    aux = model.auxiliary_loss(y) if hasattr(model, "auxiliary_loss") else None  # as the training loop adds it
    (loss if aux is None else loss + aux).backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert trainable
    no_grad = [n for n, p in trainable if p.grad is None]
    assert not no_grad, f"trainable parameters without gradient: {no_grad[:5]}"
    if name == "aim_vit_b16":  # frozen image model: only adapters, temporal embedding, ln_post and head train
        assert all(any(k in n for k in AIM_TRAINABLE) for n, _ in trainable)
        assert not model.backbone.conv1.weight.requires_grad and model.backbone.conv1.weight.grad is None
    model.reset_classifier(5)
    assert model.eval()(x).shape == (2, 5)
    assert model.num_classes == 5


# Published parameter counts (400 classes), with the source next to each figure.
PARAM_REFS = {
    "i3d_r50": 28.0e6,  # I3D R50 8x8, PySlowFast/pytorchvideo model zoo: 28.04M
    "x3d_xs": 3.8e6,  # X3D paper Tab. 3: X3D-XS 3.8M
    "x3d_s": 3.8e6,  # X3D paper Tab. 3: X3D-S 3.8M
    "x3d_m": 3.8e6,  # X3D paper Tab. 3: X3D-M 3.8M
    "slowfast_r50": 34.6e6,  # SlowFast R50 (4x16 and 8x8 share it): 34.6M
    "mvitv2_s": 34.5e6,  # MViTv2 paper Tab. (K400): MViTv2-S 34.5M
    # PySlowFast projects/rev README: Rev-MViT-B 16x4 34.9M (the 53.7M matches no Rev-MViT-B config)
    "rev_mvit_b": 34.9e6,
    "uniformerv2_b16": 115e6,  # UniFormerV2 paper (K400): B/16 115M
    "uniformerv2_b16_ssv2": 163e6 - 174 * 768 + 400 * 768,  # UniFormerV2 paper (SSv2): B/16 163M at 174 classes
    "aim_vit_b16": 97e6,  # AIM paper Tab. (K400): ViT-B/16 97M total, 11M tunable
}


@pytest.mark.parametrize("name,ref", sorted(PARAM_REFS.items()))
def test_full_size_parameter_count_matches_paper(name, ref):
    assert model_info(name).params == pytest.approx(ref, rel=0.05)


def test_aim_tunable_and_resnet50_backbone_counts():
    with torch.device("meta"):
        aim = create_model("aim_vit_b16", num_classes=400)
        tsn = create_model("resnet50_tsn", num_classes=400)
    tunable = sum(p.numel() for p in aim.parameters() if p.requires_grad)
    assert tunable == pytest.approx(11e6, rel=0.05)  # AIM paper: 11M tunable
    assert sum(p.numel() for p in tsn.backbone.parameters()) == pytest.approx(23.5e6, rel=0.02)  # ResNet-50


def test_tsn_ignores_frame_order_but_default_cpu_model_does_not():
    """TSN averages frames (no temporal modelling); the CPU default must tell a clip from its time reversal."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 32, 32)
    rev = x.flip(2)
    tsn = create_model("resnet50_tsn", num_classes=4, dropout=0.0).eval()
    cpu = create_model(DEFAULT_CPU_MODEL, num_classes=4).eval()
    with torch.no_grad():
        assert torch.allclose(tsn(x), tsn(rev), atol=1e-5)
        for m in cpu.modules():  # random init starts residual blocks as identity; perturb them
            if isinstance(m, torch.nn.BatchNorm3d):
                m.weight.data.uniform_(0.5, 1.5)
        cpu.fc.weight.data.normal_()
        assert not torch.allclose(cpu(x), cpu(rev), atol=1e-4)


def test_slowfast_rejects_frame_counts_it_cannot_split():
    model = create_model("slowfast_r50", num_classes=2)
    with pytest.raises(TabenchError, match="divisible by 4"):
        model(torch.randn(1, 3, 6, 32, 32))


def test_unknown_model_is_a_user_error():
    with pytest.raises(TabenchError, match="unknown model"):
        create_model("resnet9000", num_classes=2)


# ---- weights -------------------------------------------------------------------------------------------------

def _small(num_classes=3, seed=0):
    torch.manual_seed(seed)
    return create_model("r3d_tiny", num_classes=num_classes).eval()


def test_load_weights_pyslowfast_layout_with_module_prefix(tmp_path, capsys):
    src = _small(seed=0)
    with torch.no_grad():  # make BN statistics non-trivial so buffers must load too
        for m in src.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.weight.uniform_(0.5, 1.5)
    path = tmp_path / "ckpt.pyth"
    torch.save({"model_state": {f"module.{k}": v for k, v in src.state_dict().items()}, "epoch": 3}, path)
    dst = _small(seed=1)
    x = torch.randn(2, 3, 8, 32, 32)
    assert not torch.allclose(src(x), dst(x))
    report = load_weights(dst, path)
    assert report.ok and not report.skipped_head
    assert len(report.loaded) == len(src.state_dict())
    assert torch.allclose(src(x), dst(x))
    assert "loaded" in capsys.readouterr().out


def test_load_weights_skips_a_classifier_of_another_size(tmp_path):
    src = _small(num_classes=7)
    path = tmp_path / "k400.pt"
    torch.save(src.state_dict(), path)
    dst = create_model("r3d_tiny", num_classes=3, weights=str(path))  # create_model(weights=...) uses it
    rep = load_weights(dst, path, verbose=False)
    assert rep.skipped_head == ["fc.bias", "fc.weight"]
    assert not rep.missing and not rep.mismatched and not rep.unexpected
    assert "classifier skipped" in str(rep)
    assert torch.equal(dst.stem[0].weight, src.stem[0].weight)
    assert dst.fc.weight.shape == (3, src.fc.in_features)


def test_load_weights_renames_a_foreign_prefix_and_reports_extras(tmp_path):
    src = _small()
    state = {f"visual.{k}": v for k, v in src.state_dict().items()}
    state["visual.extra_proj"] = torch.zeros(4)
    path = tmp_path / "clip_like.pt"
    torch.save({"state_dict": state}, path)
    dst = _small(seed=1)
    rep = load_weights(dst, path, verbose=False)
    assert rep.unexpected == ["extra_proj"] and not rep.missing
    assert torch.equal(dst.fc.weight, src.fc.weight)
    # extras (a text tower beside a vision model) do not make a strict load fail: they are reported as unexpected;
    # what strictness refuses (non-head tensors left unloaded, mismatches) is tested in test_weights.py
    assert load_weights(_small(), path, strict=True, verbose=False).unexpected == ["extra_proj"]


def test_load_weights_rejects_bad_files(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(TabenchError, match="not a readable PyTorch checkpoint"):
        load_weights(_small(), garbage)
    with pytest.raises(TabenchError, match="not found"):
        load_weights(_small(), tmp_path / "missing.pt")
    meta_only = tmp_path / "meta.pt"
    torch.save({"epoch": 3, "cfg": "x"}, meta_only)
    with pytest.raises(TabenchError, match="no state dict"):
        load_weights(_small(), meta_only)
    other = tmp_path / "other.pt"
    torch.save({"completely.different.weight": torch.zeros(3)}, other)
    with pytest.raises(TabenchError, match="none of its"):
        create_model("r3d_tiny", num_classes=3, weights=str(other))


# ---- CLI -----------------------------------------------------------------------------------------------------

def test_cli_models_list_and_info(capsys):
    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    firsts = [ln.split()[0] for ln in lines]
    assert set(UNIMODAL) <= set(firsts)
    assert any(ln.startswith("x3d_m ") and "3.79M" in ln and "16x224" in ln for ln in lines)
    assert main(["models", "info", "x3d_m"]) == 0
    out = capsys.readouterr().out
    assert "3,794,274" in out and "16 frames x 224x224" in out
    assert main(["models", "info", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_rgb_difference_input_sees_motion_not_the_static_background():
    from tabench.models.r3d_tiny import rgb_difference

    x = torch.randn(2, 3, 4, 8, 8)
    static = x[:, :, :1].expand(-1, -1, 4, -1, -1)
    assert rgb_difference(static).abs().max() == 0
    d = rgb_difference(x)
    assert torch.equal(d[:, :, 0], torch.zeros_like(d[:, :, 0])) and torch.allclose(d[:, :, 2], x[:, :, 2] - x[:, :, 1])
    model = create_model("r3d_tiny", num_classes=5, rgb_diff=True)
    assert model.stem[0].in_channels == 6 and model(x[..., :8, :8].repeat(1, 1, 1, 4, 4)).shape == (2, 5)


def _moving_squares(n: int, seed: int, t: int = 8, s: int = 32):
    """Clips of a 4x4 bright square moving left->right (label 0) or right->left (1) over a static noise photo."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, 1, s, s, generator=g).repeat(1, 1, t, 1, 1) * 2 - 1
    y = torch.randint(0, 2, (n,), generator=g)
    for i in range(n):
        row = int(torch.randint(0, s - 4, (1,), generator=g))
        for k in range(t):
            col = 2 + 3 * k if y[i] == 0 else s - 6 - 3 * k
            x[i, :, k, row:row + 4, col:col + 4] = 2.5
    return x, y


def test_default_cpu_model_learns_motion_direction_over_a_static_background():
    torch.manual_seed(0)
    model = create_model(DEFAULT_CPU_MODEL, num_classes=2)
    x, y = _moving_squares(64, seed=1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for step in range(40):
        b = torch.arange(16) + 16 * (step % 4)
        loss = torch.nn.functional.cross_entropy(model(x[b]), y[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
    xt, yt = _moving_squares(64, seed=2)  # new clips: other backgrounds, other rows
    model.eval()
    with torch.no_grad():
        assert (model(xt).argmax(1) == yt).float().mean() >= 0.9


def test_rgbdiff_tiny_sees_only_what_changes():
    """On differences alone, adding a static photo to every frame changes nothing; with RGB it does."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 6, 40, 40)
    photo = torch.randn(2, 3, 1, 40, 40).expand(-1, -1, 6, -1, -1)
    diff = create_model("rgbdiff_tiny", num_classes=4).eval()
    both = create_model("rgbdiff_tiny", num_classes=4, inputs="rgb+diff").eval()
    for m in (diff, both):
        m.fc.weight.data.normal_()
    with torch.no_grad():
        assert torch.allclose(diff(x), diff(x + photo), atol=1e-5)
        assert not torch.allclose(both(x), both(x + photo), atol=1e-3)
    assert both.frame_cnn[0][0].in_channels == 6
    with pytest.raises(ValueError, match="inputs"):
        create_model("rgbdiff_tiny", num_classes=4, inputs="flow")


def test_r3d_tiny_pooling_options():
    x = torch.randn(2, 3, 4, 32, 32)
    for pool, width in (("avg", 128), ("max", 128), ("avgmax", 256)):
        m = create_model("r3d_tiny", num_classes=3, pool=pool).eval()
        assert m.fc.in_features == width and m(x).shape == (2, 3)
    with pytest.raises(ValueError, match="pool"):
        create_model("r3d_tiny", num_classes=3, pool="sum")
