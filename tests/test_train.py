"""The training loop: it learns, it resumes exactly, it runs under DDP (2 gloo processes), configs resolve.

The data is a tiny dataset of real mp4s in the dataset directory format: a bright square moving in a
class-specific direction with a class-specific colour, on a background that differs between the two sets.
`make_tiny_dataset` is shared with tests/test_protocol.py.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tabench import TabenchError, cli, config  # noqa: E402
from tabench.data.format import VideoEntry, write_dataset  # noqa: E402
from tabench.taxonomy import load  # noqa: E402

TINY_MODEL = "r3d_tiny"
NUM_CLASSES = 4  # coarse classes 0..3 are used
DIRECTIONS = [(1, 0), (-1, 0), (0, 1), (0, -1)]
COLOURS = [(255, 60, 60), (60, 255, 60), (60, 60, 255), (255, 255, 60)]


def _write_mp4(path: Path, frames: np.ndarray, fps: int = 12) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.height, s.width = frames.shape[1:3]
        s.pix_fmt = "yuv420p"
        for f in frames:
            for pkt in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)


def _clip(coarse: int, set_id: int, rng: np.random.Generator, n: int = 12, hw: int = 32) -> np.ndarray:
    bg = 30 if set_id == 1 else 90
    frames = np.full((n, hw, hw, 3), bg, np.uint8)
    dx, dy = DIRECTIONS[coarse]
    x0, y0 = rng.integers(10, 14, size=2)
    for t in range(n):
        x, y = int(x0 + dx * t * 1.2), int(y0 + dy * t * 1.2)
        frames[t, max(0, y - 4):y + 4, max(0, x - 4):x + 4] = COLOURS[coarse]
    return frames


def make_tiny_dataset(root: Path, train_per_class: int = 6, val_per_class: int = 2, seed: int = 0) -> Path:
    """Syn-TA taxonomy; coarse classes 0..3, one fine class of each in each set; real H.264 mp4s."""
    tax = load("syn-ta")
    rng = np.random.default_rng(seed)
    entries = []
    for set_id in (1, 2):
        for coarse in range(NUM_CLASSES):
            fine = next(f for f in tax.fine_of_set(set_id) if f.coarse_id == coarse)
            for split, n in (("train", train_per_class), ("val", val_per_class)):
                for i in range(n):
                    rel = f"videos/{fine.slug}/{split}_{i:04d}.mp4"
                    _write_mp4(root / rel, _clip(coarse, set_id, rng))
                    entries.append(VideoEntry(rel, set_id, split, coarse, fine.id))
    write_dataset(root, tax, entries)
    return root


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny") / "data")


def tiny_config(**kw) -> dict:
    cfg = config.resolve(overrides=dict(model=TINY_MODEL, frames=4, size=32, batch_size=4, epochs=2, lr=3e-3,
                                        workers=0, progress=False, tensorboard=False, warmup_epochs=0.0,
                                        threads=1))
    return config.merge(cfg, kw)


# ------------------------------------------------------------------------------------------------ config
def test_config_file_flags_and_set_resolve_in_order(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("epochs: 7\nlr: 0.01\nmodel_kwargs: {dropout: 0.1}\n")
    cfg = config.resolve(f, overrides={"lr": 0.5, "epochs": None},
                         sets=["label_smoothing=0.2", "model_kwargs.dropout=0.3", "optimizer=sgd"])
    assert cfg["epochs"] == 7 and cfg["lr"] == 0.5 and cfg["label_smoothing"] == 0.2
    assert cfg["model_kwargs"] == {"dropout": 0.3} and cfg["optimizer"] == "sgd"


@pytest.mark.parametrize("sets, msg", [(["epochz=3"], "unknown config key 'epochz'"),
                                       (["optimizer=adam"], "optimizer must be one of"),
                                       (["epochs=many"], "epochs must be an integer"),
                                       (["crop=corner"], "crop must be one of"),
                                       (["crop_scale=[0.9, 0.5]"], "crop_scale must be"),
                                       (["lr"], "--set expects key=value")])
def test_config_refuses_bad_keys_and_values(sets, msg):
    with pytest.raises(TabenchError, match=msg):
        config.resolve(sets=sets)


def test_lr_schedule_warms_up_then_decays():
    from tabench.train import lr_factor

    f = [lr_factor(s, 100, 10, 0.01) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(f[10:], f[11:])) and f[-1] == pytest.approx(0.01, abs=2e-3)


# ------------------------------------------------------------------------------------------------ the loop
def test_loop_learns_and_writes_run_directory(tiny_data, tmp_path):
    from tabench.train import load_checkpoint, train

    out = tmp_path / "run"
    cfg = tiny_config(epochs=12, lr=5e-3, tensorboard=True, label_smoothing=0.1)
    summary = train(cfg, tiny_data, 1, out)
    hist = summary["history"]
    assert hist[-1]["train_acc"] >= 90.0, hist
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert summary["best_acc"] > 50.0  # chance is 25 % on the 4 classes used
    ckpt = load_checkpoint(out / "last.pt")  # weights_only=True
    assert ckpt["epoch"] == 12 and ckpt["step"] == 12 * summary["steps_per_epoch"]
    assert set(ckpt) >= {"model", "optimizer", "scheduler", "scaler", "rng", "config", "history"}
    best = torch.load(out / "best.pt", weights_only=True)
    assert best["val_acc"] == summary["best_acc"] and best["epoch"] == summary["best_epoch"]
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["model"] == TINY_MODEL and saved["frames"] == 4 and saved["label_smoothing"] == 0.1
    assert any(p.name.startswith("events.out.tfevents") for p in (out / "tb").iterdir())


def test_resume_after_kill_equals_uninterrupted_run(tiny_data, tmp_path):
    from tabench.train import load_checkpoint, train

    cfg = tiny_config(deterministic=True, epochs=2, warmup_epochs=1.0, optimizer="sgd", lr=0.05)
    train(cfg, tiny_data, 1, tmp_path / "straight")

    class Killed(Exception):
        pass

    def kill_after_first(epoch, record):
        if epoch == 1:
            raise Killed

    with pytest.raises(Killed):
        train(cfg, tiny_data, 1, tmp_path / "resumed", on_epoch_end=kill_after_first)
    assert load_checkpoint(tmp_path / "resumed" / "last.pt")["epoch"] == 1
    with pytest.raises(TabenchError, match="--resume"):
        train(cfg, tiny_data, 1, tmp_path / "resumed")
    train(cfg, tiny_data, 1, tmp_path / "resumed", resume=True)

    a = load_checkpoint(tmp_path / "straight" / "last.pt")
    b = load_checkpoint(tmp_path / "resumed" / "last.pt")
    assert a["step"] == b["step"] and a["epoch"] == b["epoch"] == 2
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert a["history"][-1]["train_loss"] == b["history"][-1]["train_loss"]


def test_resume_of_finished_run_does_not_train_again(tiny_data, tmp_path):
    from tabench.train import train

    cfg = tiny_config(epochs=1)
    first = train(cfg, tiny_data, 2, tmp_path / "r")
    mtime = (tmp_path / "r" / "last.pt").stat().st_mtime_ns
    again = train(cfg, tiny_data, 2, tmp_path / "r", resume=True)
    assert again["steps"] == first["steps"]
    assert (tmp_path / "r" / "last.pt").stat().st_mtime_ns == mtime


def test_auxiliary_loss_and_class_texts_are_used(tiny_data, tmp_path, monkeypatch):
    """A video-text-like model gets the training label names and its auxiliary loss joins the loss."""
    import tabench.train as T

    calls = {"texts": [], "aux": 0, "targets": []}
    real_build = T.build_model

    def build(cfg, num_classes):
        m = real_build(cfg, num_classes)

        def set_class_texts(names):
            calls["texts"].append(list(names))

        def auxiliary_loss(targets=None):
            calls["aux"] += 1
            calls["targets"].append(targets)
            return sum(p.sum() for p in m.parameters()) * 0.0

        m.set_class_texts, m.auxiliary_loss = set_class_texts, auxiliary_loss
        return m

    monkeypatch.setattr(T, "build_model", build)
    summary = T.train(tiny_config(epochs=1), tiny_data, 1, tmp_path / "vt")
    assert calls["aux"] == summary["steps"]
    # the batch labels reach the loss (ActionCLIP's KL loss pairs same-class clips with them)
    assert all(t is not None and t.dtype == torch.int64 and t.ndim == 1 for t in calls["targets"])
    assert calls["texts"][0] == load("syn-ta").labels(1, "coarse")


def test_a_method_with_its_own_loss_gets_no_cross_entropy(tiny_data, tmp_path, monkeypatch):
    """ActionCLIP and EZ-CLIP train with their KL loss only (`uses_cross_entropy = False`): the loop adds no CE."""
    import tabench.train as T

    real_build, real_ce, ce_calls, aux_calls = T.build_model, T.F.cross_entropy, [], []

    def build(cfg, num_classes):
        m = real_build(cfg, num_classes)
        m.uses_cross_entropy = False
        m.auxiliary_loss = lambda targets=None: aux_calls.append(1) or sum(p.float().pow(2).sum() for p in m.parameters()) * 1e-3
        return m

    monkeypatch.setattr(T, "build_model", build)
    monkeypatch.setattr(T.F, "cross_entropy", lambda *a, **k: ce_calls.append(1) or real_ce(*a, **k))
    summary = T.train(tiny_config(epochs=1), tiny_data, 1, tmp_path / "own")
    assert len(aux_calls) == summary["steps"] > 0 and ce_calls == []


# ------------------------------------------------------------------------------------------------ CLI and DDP
def test_cli_train_and_clear_errors(tiny_data, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["train", "--data", str(tiny_data), "--model", TINY_MODEL, "--train-set", "2", "--out", str(out),
            "--epochs", "1", "--frames", "4", "--size", "32", "--batch-size", "4", "--workers", "0",
            "--no-progress", "--set", "tensorboard=false", "--set", "threads=1"]
    assert cli.main(args) == 0
    assert "val acc" in capsys.readouterr().out
    assert cli.main(args) == 2  # exists, no --resume
    assert "--resume" in capsys.readouterr().err
    assert cli.main(args[:-4] + ["--set", "epochz=1"]) == 2
    assert "unknown config key" in capsys.readouterr().err


def test_ddp_two_gloo_processes(tiny_data, tmp_path):
    from tabench.train import load_checkpoint

    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "0",
           "-m", "tabench", "train", "--data", str(tiny_data), "--model", TINY_MODEL, "--out", str(out),
           "--epochs", "2", "--frames", "4", "--size", "32", "--batch-size", "3", "--workers", "0",
           "--no-progress", "--set", "tensorboard=false"]
    # --master_port 0 is not accepted by every torch; use the rendezvous default on a free port instead.
    cmd[cmd.index("--master_port") + 1] = str(_free_port())
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    ckpt = load_checkpoint(out / "last.pt")
    # 24 train videos in Set 1, split over 2 ranks = 12 each, batches of 3 -> 4 steps per epoch.
    assert ckpt["world_size"] == 2
    assert ckpt["step"] == 2 * 4
    assert r.stdout.count("epoch 2/2") == 1  # only rank 0 prints and writes


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_shipped_configs_resolve_to_registered_models():
    from tabench.models import list_models

    root = Path(__file__).resolve().parents[1] / "configs"
    files = sorted(root.rglob("*.yaml"))
    assert len(files) >= 10  # the CPU default and the 9 paper-like GPU configs
    for f in files:
        cfg = config.resolve(f)
        assert cfg["model"] in list_models(), f

