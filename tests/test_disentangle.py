"""The coarse/fine disentanglement (tabench.models.disentangle): branches, gradients, EZ-CLIP as appendix C, the
protocol with fine labels for training only, DDP."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from tabench import TabenchError, cli, config
from tabench.models import create_model, list_models, model_info
from tabench.models.disentangle import Disentangled, base_name, disentangle
from tabench.results import load_run
from tabench.taxonomy import load

from test_train import make_tiny_dataset, tiny_config, _free_port

TAX = load("syn-ta")
COARSE, FINE1 = TAX.coarse_names(), TAX.labels(1, "fine")
# one CNN, one transformer, the default video-text model, EZ-CLIP (the paper's choice)
WRAPPED = ["rgbdiff_tiny", "r3d_tiny", "vivit_tiny", "vt_minilm_tiny", "ezclip_minilm_tiny"]
INPUT = {"vivit_tiny": (4, 32), "ezclip_minilm_tiny": (3, 32)}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("dis") / "data", train_per_class=4, val_per_class=2)


def _build(name, blocks=None, fine_weight=1.0, num_classes=20):
    torch.manual_seed(0)
    kw = {"class_texts": COARSE, "templates": ("{}",)} if model_info(name).__dict__.get("video_text") else {}
    return disentangle(create_model(name, num_classes, **kw), blocks=blocks, fine_weight=fine_weight)


def _clips(name, b=4):
    t, s = INPUT.get(name, (4, 32))
    return torch.randn(b, 3, t, s, s, generator=torch.Generator().manual_seed(1))


def _step(model, x, y, yf):
    model.train()
    model.set_fine_targets(yf)
    logits = model(x)
    loss = model.auxiliary_loss(y)
    if model.uses_cross_entropy:
        loss = loss + F.cross_entropy(logits, y)
    loss.backward()
    return logits, loss


@pytest.mark.parametrize("name", WRAPPED)
def test_every_trainable_parameter_of_the_fine_branch_gets_a_gradient(name):
    model = _build(name)
    model.set_fine_classes(FINE1)
    x, y, yf = _clips(name), torch.tensor([0, 1, 2, 0]), torch.tensor([0, 5, 9, 52])
    logits, loss = _step(model, x, y, yf)
    assert logits.shape == (4, 20) and torch.isfinite(loss)
    fine = [(n, p) for n, p in model.named_parameters() if n.startswith(("fine_blocks.", "fine_head.")) and p.requires_grad]
    assert fine and any(n.startswith("fine_head.") for n, _ in fine)
    missing = [n for n, p in fine if p.grad is None]
    assert not missing, f"fine-branch parameters without gradient: {missing[:5]}"
    # (R3D's blocks start as identity, BN gamma 0, so some of their first gradients are exactly zero)
    assert sum(float(p.grad.abs().sum() > 0) for _, p in fine) >= 0.5 * len(fine)
    assert all(float(p.grad.abs().sum()) > 0 for n, p in fine if n.startswith("fine_head."))
    # everything that trains gets a gradient (DDP without find_unused_parameters needs that)
    assert not [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    # evaluation: coarse logits; output="fine": logits over the training set's fine classes
    model.eval()
    with torch.no_grad():
        assert model(x).shape == (4, 20)
        model.output = "fine"
        assert model(x).shape == (4, len(FINE1))


@pytest.mark.parametrize("name", ["rgbdiff_tiny", "vivit_tiny", "vt_minilm_tiny"])
def test_branches_start_from_the_original_and_fine_features_reach_coarse(name):
    model = _build(name, blocks=1)
    split = model._split[0]
    assert model.num_blocks == 1 and len(model.fine_blocks) == 1
    coarse_block, fine_block = split.blocks[-1], model.fine_blocks[0]
    assert coarse_block is not fine_block
    for (a, pa), (b, pb) in zip(coarse_block.state_dict().items(), fine_block.state_dict().items()):
        assert a == b and torch.equal(pa, pb)  # a copy of the original block
    model.eval()
    x = _clips(name)
    with torch.no_grad():
        before = model(x)
        for p in fine_block.parameters():
            p.add_(torch.randn_like(p))
        after = model(x)
    assert not torch.allclose(before, after)  # the fine branch's output is added into the coarse branch


def test_fine_weight_scales_the_fine_loss_and_zero_turns_it_off():
    losses = {}
    for w in (0.0, 1.0, 2.0):
        model = _build("rgbdiff_tiny", fine_weight=w)
        model.set_fine_classes(FINE1)
        model.train()
        model.set_fine_targets(torch.tensor([0, 1, 2, 3]))
        torch.manual_seed(3)
        model(_clips("rgbdiff_tiny"))
        losses[w] = float(model.auxiliary_loss(torch.tensor([0, 1, 2, 3])).detach())
    assert losses[0.0] == 0.0 and losses[2.0] == pytest.approx(2 * losses[1.0], rel=1e-4)


def test_ezclip_disentangle_is_appendix_c():
    from tabench.models.disentangle import EZCLIPBranchBlock

    model = create_model("ezclip_minilm_tiny_disentangle", 20, class_texts=COARSE, templates=("{}",))
    assert isinstance(model, Disentangled) and model.num_blocks == 2  # the last two transformer layers
    base, layers = model.base, len(model.base.visual.layers)
    assert all(isinstance(b, EZCLIPBranchBlock) for b in model.fine_blocks)
    # the copies of CLIP's weights stay frozen as in EZ-CLIP; their adapters and the fine projection learn
    for n, p in model.fine_blocks.named_parameters():
        assert p.requires_grad == (".adapter." in f".{n}"), n
    assert all(p.requires_grad for p in model.fine_head.parameters())
    assert not any(p.requires_grad for p in base.visual.proj.parameters())
    assert model.fine_head is not base.visual.proj
    model.set_fine_classes(FINE1)
    x, y = _clips("ezclip_minilm_tiny"), torch.tensor([0, 1, 2, 0])
    # no temporal prompt in the duplicated layers: changing their prompts changes nothing
    prompts = base.temporal_prompts if hasattr(base, "temporal_prompts") else base.prompts
    model.eval()
    with torch.no_grad():
        a = model(x)
        prompts[layers - 2:].add_(1.0)
        b = model(x)
        prompts[: layers - 2].add_(1.0)
        c = model(x)
    assert torch.allclose(a, b) and not torch.allclose(a, c)
    # the fine loss is EZ-CLIP's loss against the fine captions: other fine texts give another loss
    model.train()
    model.set_fine_targets(torch.tensor([0, 1, 2, 3]))
    torch.manual_seed(0)
    model(x)
    l1 = float(model.auxiliary_loss(y))
    model.set_fine_classes(TAX.labels(2, "fine"))
    torch.manual_seed(0)
    model(x)
    assert float(model.auxiliary_loss(y)) != pytest.approx(l1)


def test_registered_names_and_errors():
    names = set(list_models())
    for base in ("rgbdiff_tiny", "vt_minilm_tiny", "ezclip_minilm_tiny", "vivit_tiny"):
        assert f"{base}_disentangle" in names
        info = model_info(f"{base}_disentangle")
        assert getattr(info, "video_text", False) == getattr(model_info(base), "video_text", False)
    for alias, base in (("ezclip_disentangle_minilm_tiny", "ezclip_minilm_tiny"), ("ezclip_disentangle_b16", "ezclip_b16")):
        assert alias in names and model_info(alias).video_text  # the earlier names build the same wrapper
        assert base_name(alias) == base
    with pytest.raises(TabenchError, match="no coarse/fine split"):
        disentangle(create_model("x3d_xs", 5))
    with pytest.raises(TabenchError, match="blocks must be in"):
        disentangle(create_model("rgbdiff_tiny", 5), blocks=9)
    model = disentangle(create_model("rgbdiff_tiny", 5))
    model.train()
    model.set_fine_targets(torch.tensor([0, 1]))
    with pytest.raises(TabenchError, match="set_fine_classes"):
        model(torch.randn(2, 3, 4, 32, 32))
    for bad in ({"blocks": 0}, {"fine_weight": -1}, {"blockz": 1}, 3):
        with pytest.raises(TabenchError):
            config.resolve(overrides={"disentangle": bad})
    cfg = config.resolve(sets=["disentangle.blocks=1", "disentangle.fine_weight=0.5"])
    assert cfg["disentangle"] == {"blocks": 1, "fine_weight": 0.5}


def test_coarse_protocol_trains_on_fine_labels_and_records_the_fine_branch(tiny_data, tmp_path, monkeypatch):
    import tabench.train as T
    from tabench.protocol import run_benchmark

    seen = []
    orig = Disentangled.set_fine_targets

    def spy(self, targets):
        if targets is not None:
            seen.append(targets.clone())
        return orig(self, targets)

    monkeypatch.setattr(Disentangled, "set_fine_targets", spy)
    cfg = tiny_config(epochs=1, deterministic=True, disentangle={"blocks": 1, "fine_weight": 0.5})
    res = run_benchmark(cfg, tiny_data, tmp_path / "run")
    assert seen and all(int(t.max()) < len(FINE1) for t in seen)  # fine ids of the training set
    assert res["disentangle"]["blocks"] == 1 and res["disentangle"]["fine_weight"] == 0.5
    fk = res["disentangle"]["fine_known"]
    assert set(fk) == {"train1", "train2", "mean"} and all(0 <= v <= 100 for v in fk.values())
    assert load_run(tmp_path / "run")["level"] == "coarse"
    # evaluation is unchanged: coarse labels, coarse label space
    ev = json.loads((tmp_path / "run" / "train1" / "eval.json").read_text())
    assert ev["fine_known"]["n"] == 8 and ev["known"]["n"] == 8
    ckpt = T.load_checkpoint(tmp_path / "run" / "train1" / "last.pt")
    assert ckpt["fine_class_names"] == FINE1


def test_cli_disentangle_flag_registered_name_and_fine_level_refused(tiny_data, tmp_path, capsys):
    base = ["benchmark", "--data", str(tiny_data), "--epochs", "1", "--frames", "4", "--size", "32",
            "--batch-size", "4", "--workers", "0", "--no-progress", "--set", "tensorboard=false", "--set", "threads=1"]
    assert cli.main(base + ["--model", "r3d_tiny", "--disentangle", "--out", str(tmp_path / "a")]) == 0
    assert json.loads((tmp_path / "a" / "results.json").read_text())["disentangle"]["blocks"] == 1
    assert cli.main(base + ["--model", "vt_minilm_tiny", "--level", "fine", "--disentangle",
                            "--out", str(tmp_path / "b")]) == 2
    assert "coarse protocol" in capsys.readouterr().err
    assert cli.main(base + ["--model", "r3d_tiny_disentangle", "--disentangle", "--out", str(tmp_path / "c")]) == 2


def test_ddp_two_gloo_processes_ezclip_disentangle(tiny_data, tmp_path):
    from tabench.train import load_checkpoint

    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
           "-m", "tabench", "train", "--data", str(tiny_data), "--model", "ezclip_minilm_tiny_disentangle",
           "--out", str(out), "--epochs", "1", "--frames", "3", "--size", "32", "--batch-size", "3",
           "--workers", "0", "--no-progress", "--set", "tensorboard=false", "--set", "model_kwargs.templates=['{}']"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    ckpt = load_checkpoint(out / "last.pt")
    assert ckpt["world_size"] == 2 and ckpt["step"] == 2  # 16 train videos, 8 per rank, batches of 3
    assert any(k.startswith("fine_head.") for k in ckpt["model"])
