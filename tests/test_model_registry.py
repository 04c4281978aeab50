"""The registry is the one place that knows each model's input: frames, size, sampling, normalisation, whether it
is a video-text model and its parameter counts. The data pipeline uses these facts unless the config overrides
them, the run's config.yaml records what was used, and the level is decided without building a model."""
from __future__ import annotations

import json
import os

import pytest
import torch
import yaml
from torch import nn

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import tabench.models as zoo  # noqa: E402
from tabench import TabenchError, cli, config  # noqa: E402
from tabench.models import _registry  # noqa: E402
from tabench.models import CLIP_MEAN, CLIP_STD, KINETICS_MEAN, KINETICS_STD, list_models, model_info  # noqa: E402
from tests.test_train import make_tiny_dataset, tiny_config  # noqa: E402

CLIP_MODELS = ["aim_vit_b16", "uniformerv2_b16", "actionclip_b16", "xclip_b16", "vificlip_b16", "ezclip_b16",
               "froster_b16"]
VIDEO_TEXT_PAPER = ["actionclip_b16", "xclip_b16", "vificlip_b16", "ezclip_b16", "froster_b16"]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("reg") / "data", train_per_class=2, val_per_class=2)


def test_clip_initialised_models_get_clip_normalisation():
    for name in CLIP_MODELS:
        info = model_info(name)
        assert info.input_mean == CLIP_MEAN and info.input_std == CLIP_STD, name
    assert CLIP_MEAN == (0.48145466, 0.4578275, 0.40821073) and CLIP_STD == (0.26862954, 0.26130258, 0.27577711)
    for name in ("i3d_r50", "x3d_m", "slowfast_r50", "mvitv2_s", "rev_mvit_b", "rgbdiff_tiny", "vt_minilm_tiny"):
        assert model_info(name).input_mean == KINETICS_MEAN and model_info(name).input_std == KINETICS_STD


def test_video_text_models_register_through_the_same_decorator_with_their_facts():
    vt = {n for n in list_models() if model_info(n).video_text}
    assert set(VIDEO_TEXT_PAPER) | {"vt_minilm_tiny", "ezclip_disentangle_b16"} <= vt
    assert not {"i3d_r50", "aim_vit_b16", "rgbdiff_tiny"} & vt
    assert all(type(model_info(n)) is _registry.ModelInfo for n in list_models())  # nobody rewrites _INFO
    assert model_info("xclip_b16").text_encoder == "clip" and model_info("vt_minilm_tiny").text_encoder == "minilm"
    assert model_info("slowfast_r50").sampling == "dense" and model_info("slowfast_r50").frame_interval == 2
    assert model_info("resnet50_tsn").sampling == "segment"


def test_models_show_json_prints_one_object_with_numbers(capsys):
    assert cli.main(["models", "show", "aim_vit_b16", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("name", "params_total", "params_trainable", "input_mean", "input_std", "frames", "size",
                "video_text", "sampling"):
        assert key in d, key
    assert d["name"] == "aim_vit_b16" and d["frames"] == 8 and d["size"] == 224 and d["video_text"] is False
    assert isinstance(d["params_total"], int) and isinstance(d["params_trainable"], int)
    assert d["params_total"] == pytest.approx(97e6, rel=0.02) and d["params_trainable"] == pytest.approx(11e6, rel=0.03)
    assert d["input_mean"] == list(CLIP_MEAN) and d["input_std"] == list(CLIP_STD)
    assert cli.main(["models", "show", "vt_minilm_tiny", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["video_text"] is True and d["params_trainable"] <= d["params_total"]
    assert cli.main(["models", "show", "aim_vit_b16"]) == 0
    out = capsys.readouterr().out
    assert "0.481455" in out and "trainable" in out
    assert cli.main(["models", "show", "nope", "--json"]) == 2


def test_resolve_input_uses_the_registry_then_the_config():
    from tabench.train import resolve_input

    cfg = config.resolve(overrides={"model": "aim_vit_b16"})
    r = resolve_input(cfg)
    assert (r["frames"], r["size"], r["sampling"], r["frame_interval"]) == (8, 224, "dense", 16)
    assert r["mean"] == list(CLIP_MEAN) and r["std"] == list(CLIP_STD)
    over = resolve_input(config.merge(cfg, {"mean": [0.5, 0.5, 0.5], "sampling": "segment", "frames": 4}))
    assert over["mean"] == [0.5] * 3 and over["std"] == list(CLIP_STD) and over["sampling"] == "segment"
    assert over["frames"] == 4
    assert resolve_input(config.merge(cfg, {"model_kwargs": {"frames": 16}}))["frames"] == 16
    with pytest.raises(TabenchError, match="std must be positive"):
        config.merge(cfg, {"std": [0.2, 0, 0.2]})


def test_deciding_the_level_and_input_needs_no_model_built(monkeypatch):
    import tabench.train as T
    from tabench.protocol import check_level, resolve_clip_shape

    def refuse(*a, **k):
        raise AssertionError("a model was built")

    monkeypatch.setattr(T, "build_model", refuse)
    monkeypatch.setattr(_registry, "_BUILDERS", {k: refuse for k in _registry._BUILDERS})
    check_level({"model": "xclip_b16"}, "fine")
    with pytest.raises(TabenchError, match="fine level needs a video-text model"):
        check_level({"model": "i3d_r50"}, "fine")
    r = resolve_clip_shape(config.resolve(overrides={"model": "froster_b16"}))
    assert (r["frames"], r["size"], r["sampling"], r["frame_interval"]) == (8, 224, "dense", 16)


class _Recorder(nn.Module):
    """A tiny classifier that keeps every clip batch it is fed in eval mode."""

    default_frames, default_size = 4, 32

    def __init__(self, num_classes):
        super().__init__()
        self.fc = nn.Linear(3, num_classes)
        self.seen = []

    def forward(self, x):
        if not self.training:
            self.seen.append(x.detach().clone())
        return self.fc(x.mean((2, 3, 4)))


def test_registry_normalisation_reaches_the_model_and_the_saved_config(tiny_data, tmp_path, monkeypatch):
    """A model registered with CLIP's mean/std is fed CLIP-normalised pixels (the clips a ClipDataset built with
    CLIP's statistics gives, not the Kinetics default) and config.yaml records them."""
    import tabench.train as T
    from tabench.data.clips import ClipDataset

    built = []

    def builder(num_classes=400):
        built.append(_Recorder(num_classes))
        return built[-1]

    monkeypatch.setitem(_registry._BUILDERS, "clip_recorder", builder)
    monkeypatch.setitem(_registry._INFO, "clip_recorder", _registry.ModelInfo(
        name="clip_recorder", family="test", paper="", frames=4, size=32, cpu_frames=4, cpu_size=32,
        cpu_sized=True, input_mean=CLIP_MEAN, input_std=CLIP_STD))
    cfg = tiny_config(model="clip_recorder", epochs=1, frames=None, size=None)
    T.train(cfg, tiny_data, 1, tmp_path / "r")
    saved = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())
    assert saved["mean"] == list(CLIP_MEAN) and saved["std"] == list(CLIP_STD)
    assert (saved["frames"], saved["size"], saved["sampling"]) == (4, 32, "segment")
    fed = torch.cat(built[0].seen)
    kw = dict(set_id=1, split="val", level="coarse", num_frames=4, size=32, train=False)
    want = torch.stack([c["video"] for c in ClipDataset(str(tiny_data), mean=CLIP_MEAN, std=CLIP_STD, **kw)])
    kinetics = torch.stack([c["video"] for c in ClipDataset(str(tiny_data), **kw)])
    assert fed.shape == want.shape
    assert torch.allclose(fed, want, atol=1e-5)
    assert not torch.allclose(fed, kinetics, atol=1e-2)
