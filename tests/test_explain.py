"""`tabench explain`: Grad-CAM saliency of a briefly trained tiny model, per direction and context."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from torch import nn

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tabench import TabenchError, cli  # noqa: E402

from test_train import make_tiny_dataset, tiny_config  # noqa: E402


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    from tabench.protocol import run_benchmark

    root = tmp_path_factory.mktemp("explain")
    data = make_tiny_dataset(root / "data", train_per_class=4, val_per_class=2)
    run = root / "run"
    run_benchmark(tiny_config(model="rgbdiff_tiny", size=48, epochs=2, deterministic=True), data, run)
    return run


def test_saliency_has_the_frame_shape_and_depends_on_the_input(trained_run):
    from tabench.analysis import load_runs
    from tabench.explain import grad_cam, last_spatial_layer
    from tabench.train import load_trained_model, make_dataset, resolve_input

    model, ckpt = load_trained_model(trained_run / "train1")
    cfg = resolve_input(ckpt["config"])
    (run,) = load_runs([trained_run])
    ds = make_dataset(cfg, run.data, 1, "val", "coarse", False, int(cfg["frames"]), int(cfg["size"]))
    a, b = ds[0]["video"], ds[len(ds) - 1]["video"]
    name, layer = last_spatial_layer(model.eval(), a.unsqueeze(0))
    assert isinstance(layer, (nn.Conv2d, nn.Conv3d))
    cam_a, pred_a = grad_cam(model, a, layer)
    cam_b, _ = grad_cam(model, b, layer)
    assert cam_a.shape == tuple(a.shape[1:])  # (T, H, W) of the clip's frames
    assert np.isfinite(cam_a).all() and cam_a.min() >= 0 and cam_a.max() <= 1 and cam_a.max() > 0
    assert not np.allclose(cam_a, cam_b, atol=1e-3)  # another video, another map
    shifted = torch.roll(a, shifts=a.shape[-1] // 2, dims=-1)  # the same video, moved half a frame sideways
    cam_s, _ = grad_cam(model, shifted, layer, target=pred_a)
    assert not np.allclose(cam_a, cam_s, atol=1e-3)


def test_explain_command_writes_strips_for_each_direction_and_context(trained_run, capsys):
    assert cli.main(["explain", str(trained_run), "--videos", "1"]) == 0
    out = trained_run / "explain"
    rec = json.loads((out / "explain.json").read_text())
    assert rec["method"] == "grad-cam"
    got = {(v["train_set"], v["context"]) for v in rec["videos"]}
    assert got == {(1, "known"), (1, "unknown"), (2, "known"), (2, "unknown")}
    for v in rec["videos"]:
        png = out / v["png"]
        assert png.is_file() and png.stat().st_size > 0 and v["video"].endswith(".mp4")
    from PIL import Image

    with Image.open(out / rec["videos"][0]["png"]) as im:
        assert im.height > 0 and im.width > im.height  # a strip of frames


def test_a_model_without_spatial_convolutions_is_refused():
    from tabench.explain import last_spatial_layer

    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 8 * 8, 4))
    with pytest.raises(TabenchError, match="attention rollout"):
        last_spatial_layer(model, torch.zeros(1, 3, 4, 8, 8))
    assert cli.main(["explain", "/nonexistent/run", "--videos", "0"]) == 2


def test_html_report_shows_the_explain_strips(trained_run, tmp_path):
    from tabench.explain import explain_run
    from tabench.html_report import write_html_report

    explain_run(trained_run, videos=1)
    index = write_html_report([trained_run], tmp_path / "html", examples=0)
    page = index.read_text()
    assert "Grad-CAM" in page
    strips = sorted((tmp_path / "html" / "explain").rglob("*.png"))
    assert len(strips) == 4 and all(p.stat().st_size > 0 for p in strips)
    for p in strips:
        assert p.relative_to(tmp_path / "html").as_posix() in page


def test_attention_rollout_of_a_vit_follows_the_attention_and_the_input(tmp_path):
    """vivit_tiny has self-attention: rollout (not Grad-CAM on its patch embedding) maps where it attends."""
    from tabench.explain import attention_rollout, has_attention, record_attention
    from tabench.models import create_model

    torch.manual_seed(0)
    model = create_model("vivit_tiny", num_classes=4, frames=8, size=32).eval()
    assert has_attention(model)
    clip = torch.randn(3, 8, 32, 32)
    maps, logits = record_attention(model, clip)
    with torch.no_grad():
        assert torch.allclose(logits, model(clip.unsqueeze(0)), atol=1e-5)  # reading weights changes nothing
    assert maps and all(m.shape[-1] == m.shape[-2] for m in maps)
    cam, pred, used = attention_rollout(model, clip)
    assert cam.shape == (8, 32, 32) and np.isfinite(cam).all() and 0 <= cam.min() and cam.max() == pytest.approx(1)
    assert used["grid"] == [4, 4] and used["layers"] == 4  # the four spatial attentions, not the temporal ones
    assert pred == int(logits[0].argmax())
    cam2, _, _ = attention_rollout(model, torch.roll(clip, shifts=16, dims=-1))
    assert not np.allclose(cam, cam2, atol=1e-3)


def test_attention_rollout_reads_transformers_clip_attention():
    """CLIP-based video-text models run transformers' CLIP layers (SDPA by default): rollout switches them to the
    eager path for the call, gets one head-averaged (frames, 1 + g*g, 1 + g*g) map per layer, and restores it."""
    from tabench.explain import attention_rollout, record_attention
    from tabench.models import create_model

    torch.manual_seed(0)
    model = create_model("vificlip_minilm_tiny", num_classes=3, frames=4).eval()
    model.set_class_texts(["a", "b", "c"])
    impls = {id(m.config): m.config._attn_implementation for m in model.modules() if hasattr(m, "config")
             and hasattr(m.config, "_attn_implementation")}
    clip = torch.randn(3, 4, 64, 64)
    maps, _ = record_attention(model, clip)
    assert maps, "no attention weights were read"
    cam, _, used = attention_rollout(model, clip)
    assert cam.shape == (4, 64, 64) and cam.max() == pytest.approx(1)
    assert used["tokens"] == 1 + used["grid"][0] ** 2
    assert impls == {id(m.config): m.config._attn_implementation for m in model.modules() if hasattr(m, "config")
                     and hasattr(m.config, "_attn_implementation")}
