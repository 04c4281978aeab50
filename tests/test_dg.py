"""The three domain-generalisation methods (VideoDG, STDN, CIR): registered at full and CPU size, every trainable
parameter reached by their losses, each learning above chance through the coarse protocol on a tiny Syn-TA, and
`tabench features` (CIR's precomputed frozen-backbone features: cached, resumable, refused when stale)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from tabench import TabenchError, cli  # noqa: E402
from tabench.models import create_model, list_models, model_info  # noqa: E402
from test_train import make_tiny_dataset, tiny_config  # noqa: E402

FULL = {"videodg_r50": 5, "stdn_r50": 5, "cir_slowfast": 96}
CPU = ("videodg_tiny", "stdn_tiny", "cir_tiny")
# Settings that learn the tiny data in a few epochs (lr as in docs/models.md, "Domain-generalisation methods").
TRAIN = {"videodg_tiny": dict(epochs=5, lr=5e-4, batch_size=4), "stdn_tiny": dict(epochs=5, lr=5e-4, batch_size=4),
         "cir_tiny": dict(epochs=15, lr=1e-3, batch_size=8, model_kwargs={"frames_per_clip": 4})}
NAMES = ["falling", "rising", "left to right", "right to left", "orbiting"]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    return make_tiny_dataset(tmp_path_factory.mktemp("dg") / "data", train_per_class=5, val_per_class=2)


def test_registered_at_full_and_cpu_size():
    names = set(list_models())
    assert set(FULL) | set(CPU) <= names
    for n, frames in FULL.items():
        info = model_info(n)
        assert not info.cpu_sized and info.default_frames == frames and info.default_size == 224
    assert all(model_info(n).cpu_sized for n in CPU)
    # the ResNet-50 ones start from ImageNet weights, so they expect ImageNet's normalisation; CIR's SlowFast Kinetics'
    from tabench.models import IMAGENET_MEAN, IMAGENET_STD, KINETICS_MEAN
    assert all((model_info(n).input_mean, model_info(n).input_std) == (IMAGENET_MEAN, IMAGENET_STD)
               for n in ("videodg_r50", "stdn_r50"))
    assert model_info("cir_slowfast").input_mean == KINETICS_MEAN
    with torch.device("meta"):
        vdg = create_model("videodg_r50", num_classes=12)
        stdn = create_model("stdn_r50", num_classes=12)
        cir = create_model("cir_slowfast", num_classes=12)
    # TSN ResNet-50 backbones (23.5M), partial BN: only the first BatchNorm of the backbone trains
    assert sum(p.numel() for p in vdg.encoder.backbone.parameters()) == pytest.approx(23.5e6, rel=0.02)
    bns = [m for m in vdg.encoder.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns[0].weight.requires_grad and not any(b.weight.requires_grad for b in bns[1:])
    assert vdg.apn.final.in_features == 5 * 256 and len(stdn.scale_modules) == 4  # scales 5..2
    assert stdn.relation_head[-1].out_features == 12 * 4  # (class, scale) pairs
    assert cir.feature_dim == 2304 and cir.mlp[0].in_features == 3 * 2304 and cir.mlp[4].out_features == 512
    assert not any(p.requires_grad for p in cir.backbone.parameters())  # frozen SlowFast


@pytest.mark.parametrize("name, kw", [("videodg_tiny", {}), ("videodg_tiny", {"adversarial": True}),
                                      ("stdn_tiny", {}), ("cir_tiny", {})])
def test_every_trainable_parameter_gets_a_gradient(name, kw):
    """CE on the logits plus the method's auxiliary_loss, as the training loop computes them."""
    torch.manual_seed(0)
    model = create_model(name, num_classes=5, **kw).train()
    if hasattr(model, "set_label_names"):
        model.set_label_names(NAMES)
    y = torch.tensor([0, 1, 1, 3])
    x = torch.randn(4, 3, model.default_frames, 32, 32)
    loss = F.cross_entropy(model(x), y)
    aux = model.auxiliary_loss(y)
    if name == "videodg_tiny" and not kw:  # as released: APN trained by the CE alone
        assert aux is None
    else:
        assert aux is not None and torch.isfinite(aux)
        loss = loss + aux
    loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    missing = [n for n, p in trainable if p.grad is None or not torch.isfinite(p.grad).all()]
    assert trainable and not missing, missing[:5]
    model.eval()
    with torch.no_grad():
        assert model(x).shape == (4, 5)
    assert model.auxiliary_loss(y) is None  # nothing is stored in eval mode


def test_videodg_adversarial_copies_move_pixels_only():
    torch.manual_seed(0)
    model = create_model("videodg_tiny", num_classes=3, adversarial=True, feature_dropout=0.0).train()
    x, y = torch.randn(2, 3, 8, 32, 32), torch.tensor([0, 2])
    model(x)
    adv = model._ascend(x, y, 0)
    assert adv.shape == x.shape and not torch.equal(adv, x)
    assert all(p.grad is None for p in model.parameters())  # the ascent keeps no parameter gradient


def test_stdn_group_assignment_and_mixstyle():
    from tabench.models.stdn import MixStyle, SpatialGrouping

    torch.manual_seed(0)
    z, ws = SpatialGrouping(16, 8, groups=4)(torch.randn(3, 16, 6, 6))
    assert z.shape == (3, 4, 16) and ws.shape == (3, 36, 4)
    assert torch.allclose(ws.sum(-1), torch.ones(3, 36), atol=1e-5)  # a soft assignment per position
    mix = MixStyle(frames=2, p=1.0).train()
    x = torch.randn(4 * 2, 8, 5, 5) * 3 + 1
    assert not torch.allclose(mix(x), x) and torch.equal(mix.eval()(x), x)  # training only


def test_cir_features_equal_its_video_path():
    torch.manual_seed(0)
    model = create_model("cir_tiny", num_classes=4, frames_per_clip=4).eval()
    video = torch.randn(3, 3, 12, 32, 32)
    feats = model.extract(video)
    assert feats.shape == (3, 3, 512)
    assert torch.allclose(model(video), model(feats), atol=1e-5)
    # the frozen backbone is the same whatever the training seed, so stored features fit every run
    torch.manual_seed(123)
    other = create_model("cir_tiny", num_classes=4, frames_per_clip=4).eval()
    assert torch.allclose(other.extract(video), feats, atol=1e-6)
    with pytest.raises(TabenchError, match="clip features"):
        model(torch.randn(3, 2, 512))


@pytest.mark.parametrize("name", CPU)
def test_each_learns_above_chance_through_the_coarse_protocol(name, tiny_data, tmp_path):
    from tabench.data.features import extract_features
    from tabench.protocol import run_benchmark

    cfg = tiny_config(model=name, frames=None, **TRAIN[name])
    if name == "cir_tiny":
        extract_features(cfg, tiny_data, tmp_path / "feats", progress=False)
        cfg = {**cfg, "features": str(tmp_path / "feats")}
    res = run_benchmark(cfg, tiny_data, tmp_path / "run")
    assert [d["train_set"] for d in res["directions"]] == [1, 2]
    assert json.loads((tmp_path / "run" / "results.json").read_text())["mean"]["known"] == res["mean"]["known"]
    assert res["mean"]["known"] >= 50.0, res  # chance: 25 % (4 coarse classes)


def test_features_cached_resumable_and_refused_when_stale(tiny_data, tmp_path, capsys):
    from tabench.data.features import FeatureDataset, extract_features

    cfg = tiny_config(model="cir_tiny", frames=None, model_kwargs={"frames_per_clip": 4})
    out = extract_features(cfg, tiny_data, tmp_path / "f", chunk=4, progress=False)
    meta = json.loads((out / "features.json").read_text())
    assert meta["complete"] and meta["feature_dim"] == 512 and meta["clips"] == 3
    assert sorted(p.name for p in out.glob("*.pt")) == ["set1_train.pt", "set1_val.pt", "set2_train.pt",
                                                      "set2_val.pt"]
    ds = FeatureDataset(out, tiny_data, 2, "val", "coarse", cfg=cfg)
    ref = torch.load(out / "set2_val.pt", weights_only=True)
    assert ds[0]["video"].shape == (3, 512) and ds[0]["path"] == ref["paths"][0]

    # an interrupted run: one (set, split) unmerged, with a chunk left; the rerun keeps that chunk's bytes
    (out / "set2_val.pt").unlink()
    part = out / "set2_val.part00000.pt"
    torch.save({"paths": ref["paths"][:4], "features": torch.zeros(4, 3, 512)}, part)
    meta["complete"] = False
    (out / "features.json").write_text(json.dumps(meta))
    with pytest.raises(TabenchError, match="did not finish"):
        FeatureDataset(out, tiny_data, 1, "train", "coarse")
    extract_features(cfg, tiny_data, out, chunk=4, progress=False)
    merged = torch.load(out / "set2_val.pt", weights_only=True)
    assert merged["paths"] == ref["paths"] and torch.equal(merged["features"][:4], torch.zeros(4, 3, 512))
    assert torch.allclose(merged["features"][4:], ref["features"][4:])
    assert not part.exists()

    assert cli.main(["features", "--data", str(tiny_data), "--out", str(out), "--set",
                     "model_kwargs.frames_per_clip=4", "--size", "32", "--no-progress"]) == 0
    assert "complete; nothing to do" in capsys.readouterr().out
    with pytest.raises(TabenchError, match="other settings"):
        extract_features({**cfg, "size": 40}, tiny_data, out, progress=False)
    with pytest.raises(TabenchError, match="holds features for model"):
        FeatureDataset(out, tiny_data, 1, "train", "coarse", cfg={**cfg, "model": "rgbdiff_tiny"})
    with pytest.raises(TabenchError, match="not a model on frozen clip features"):
        extract_features(tiny_config(), tiny_data, tmp_path / "g", progress=False)
    with pytest.raises(TabenchError, match="no features here"):
        FeatureDataset(tmp_path / "nothing", tiny_data, 1, "train", "coarse")
    video = tiny_data / ref["paths"][0]
    st = video.stat()
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the videos changed
    try:
        with pytest.raises(TabenchError, match="changed since"):
            FeatureDataset(out, tiny_data, 1, "train", "coarse")
    finally:
        os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns))
