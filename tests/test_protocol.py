"""The protocol runner: results format, skipping finished directions, resuming interrupted runs, fine level."""
from __future__ import annotations

import json
import os
import zlib

import pytest
import torch
from torch import nn

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tabench import TabenchError, cli, config  # noqa: E402
from tabench.results import load_run, read_predictions  # noqa: E402
from tabench.taxonomy import load  # noqa: E402

from test_train import TINY_MODEL, make_tiny_dataset, tiny_config  # noqa: E402


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("proto") / "data", train_per_class=4, val_per_class=2)


def _cfg(**kw):
    return tiny_config(**{"epochs": 2, "deterministic": True, **kw})


def _preds(run):
    return {(k, kind): read_predictions(run, k, kind) for k in (1, 2) for kind in ("known", "unknown")}


def test_benchmark_writes_results_that_load_run_accepts(tiny_data, tmp_path, capsys):
    from tabench.protocol import run_benchmark

    run = tmp_path / "run"
    res = run_benchmark(_cfg(), tiny_data, run)
    table = capsys.readouterr().out
    for col in ("Known", "Unknown", "Dabs", "Drel", "HM", "Set 1", "Set 2", "Mean"):
        assert col in table
    loaded = load_run(run)  # recomputes every metric from the prediction files
    assert loaded["dataset"] == "syn-ta" and loaded["model"] == TINY_MODEL and loaded["level"] == "coarse"
    assert [d["train_set"] for d in loaded["directions"]] == [1, 2]
    preds = _preds(run)
    # known = Set k val, unknown = the other set's val (8 videos each), coarse labels in 0..3
    assert {p.path.split("/")[1] for p in preds[1, "known"]} <= {f.slug for f in load("syn-ta").fine_of_set(1)}
    assert {p.path.split("/")[1] for p in preds[1, "unknown"]} <= {f.slug for f in load("syn-ta").fine_of_set(2)}
    assert all(len(v) == 8 and {p.true for p in v} == {0, 1, 2, 3} for v in preds.values())
    stored = json.loads((run / "results.json").read_text())
    assert stored["eval_checkpoint"] == "last" and stored["config"]["frames"] == 4
    assert set(stored["per_direction"]["train1"]["known"]) >= {"top1", "top5", "mean_class"}
    assert (run / "train1" / "last.pt").is_file() and (run / "train2" / "last.pt").is_file()
    assert res["mean"]["known"] == pytest.approx(loaded["mean"]["known"])


def test_rerun_skips_finished_directions(tiny_data, tmp_path, capsys, monkeypatch):
    import tabench.train as T
    from tabench.protocol import run_benchmark

    run = tmp_path / "run"
    run_benchmark(_cfg(epochs=1), tiny_data, run)
    capsys.readouterr()
    monkeypatch.setattr(T, "train", lambda *a, **k: pytest.fail("a finished direction was trained again"))
    before = {p: p.stat().st_mtime_ns for p in (run / "predictions").iterdir()}
    run_benchmark(_cfg(epochs=1), tiny_data, run)
    assert capsys.readouterr().out.count("finished earlier, skipping") == 2
    assert before == {p: p.stat().st_mtime_ns for p in (run / "predictions").iterdir()}
    load_run(run)


def test_interrupted_run_resumes_to_the_same_result(tiny_data, tmp_path, monkeypatch, capsys):
    import tabench.train as T
    from tabench.protocol import run_benchmark

    run_benchmark(_cfg(), tiny_data, tmp_path / "straight")

    class Killed(Exception):
        pass

    real_train = T.train

    def killed_in_second_direction(cfg, data, train_set, out, **kw):
        def kill(epoch, record):
            if train_set == 2 and epoch == 1:
                raise Killed
        return real_train(cfg, data, train_set, out, on_epoch_end=kill, **kw)

    run = tmp_path / "run"
    monkeypatch.setattr(T, "train", killed_in_second_direction)
    with pytest.raises(Killed):
        run_benchmark(_cfg(), tiny_data, run)
    assert (run / "predictions" / "train1_known.csv").is_file()
    assert not (run / "predictions" / "train2_known.csv").exists() and not (run / "results.json").exists()
    monkeypatch.setattr(T, "train", real_train)
    capsys.readouterr()
    run_benchmark(_cfg(), tiny_data, run)
    out = capsys.readouterr().out
    assert "train set 1: finished earlier, skipping" in out and "from epoch 1/2" in out
    assert _preds(run) == _preds(tmp_path / "straight")

    # losing a direction's predictions re-evaluates it without training again (training had finished)
    (run / "predictions" / "train1_unknown.csv").unlink()
    monkeypatch.setattr(T, "train", lambda *a, **k: {"history": []} if k.get("resume") else pytest.fail())
    run_benchmark(_cfg(), tiny_data, run)
    assert _preds(run) == _preds(tmp_path / "straight")
    load_run(run)


def test_known_accuracy_is_evaluated_once_per_direction(tiny_data, tmp_path, monkeypatch):
    """The protocol reuses the final validation as the known-context result; a fresh evaluation of the same
    checkpoint on Set k val gives the same predictions."""
    import tabench.evaluate as E
    from tabench.protocol import evaluate_direction, run_benchmark
    from tabench.train import load_checkpoint, save_checkpoint

    calls = []
    real_predict = E.predict
    monkeypatch.setattr(E, "predict", lambda *a, **k: calls.append(k.get("desc")) or real_predict(*a, **k))
    run = tmp_path / "run"
    cfg = _cfg(epochs=1)
    run_benchmark(cfg, tiny_data, run)
    assert calls == ["eval unknown", "eval unknown"]
    assert json.loads((run / "train1" / "eval.json").read_text())["known_from_validation"] is True
    reused = _preds(run)
    for k in (1, 2):  # an older checkpoint without stored validation predictions is evaluated afresh
        ckpt = load_checkpoint(run / f"train{k}" / "last.pt")
        del ckpt["val_predictions"]
        save_checkpoint(run / f"train{k}" / "last.pt", ckpt)
        evaluate_direction(cfg, tiny_data, run, k, "coarse")
    assert calls[2:] == ["eval known", "eval unknown"] * 2
    assert _preds(run) == reused


def test_rerun_with_different_settings_is_refused(tiny_data, tmp_path):
    from tabench.protocol import run_benchmark

    run = tmp_path / "run"
    run_benchmark(_cfg(epochs=1), tiny_data, run)
    with pytest.raises(TabenchError, match="different settings .*lr"):
        run_benchmark(_cfg(epochs=1, lr=0.1), tiny_data, run)
    run_benchmark(_cfg(epochs=1, workers=1), tiny_data, run)  # runtime-only settings may change


def test_fine_level_with_unimodal_model_errors_clearly(tiny_data, tmp_path, capsys):
    args = ["benchmark", "--data", str(tiny_data), "--model", TINY_MODEL, "--level", "fine",
            "--out", str(tmp_path / "fine"), "--epochs", "1"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "fine level needs a video-text model" in err and "Traceback" not in err
    assert not (tmp_path / "fine" / "train1").exists()


class _TextModel(nn.Module):
    """A stand-in video-text model: logits are video embeddings against (fixed, name-derived) text embeddings."""

    default_frames, default_size = 4, 32

    def __init__(self, num_classes, dim=16):
        super().__init__()
        self.video = nn.Sequential(nn.Conv3d(3, dim, 3, padding=1), nn.AdaptiveAvgPool3d(1), nn.Flatten())
        self.scale = nn.Parameter(torch.tensor(3.0))
        self.register_buffer("text", torch.zeros(num_classes, dim), persistent=False)
        self.seen_texts = []

    def set_class_texts(self, names):
        self.seen_texts.append(list(names))
        g = [torch.Generator().manual_seed(zlib.crc32(n.encode())) for n in names]
        t = torch.stack([torch.randn(self.video[0].out_channels, generator=x) for x in g])
        self.text = nn.functional.normalize(t, dim=-1).to(self.scale.device)

    def forward(self, x):
        return self.scale * nn.functional.normalize(self.video(x), dim=-1) @ self.text.T


def test_fine_level_uses_class_texts_of_each_evaluation_set(tiny_data, tmp_path, monkeypatch):
    import tabench.train as T
    from tabench.protocol import run_benchmark

    built = []

    def build(cfg, num_classes):
        m = _TextModel(num_classes)
        built.append(m)
        return m

    monkeypatch.setattr(T, "build_model", build)
    import tabench.models
    from types import SimpleNamespace
    monkeypatch.setattr(tabench.models, "model_info", lambda name: SimpleNamespace(video_text=True))
    run = tmp_path / "fine"
    run_benchmark(_cfg(epochs=1, model="text-standin"), tiny_data, run, level="fine")
    res = load_run(run)
    assert res["level"] == "fine"
    tax = load("syn-ta")
    # training models see their own set's names twice (train, validate); evaluation ones only the unknown set's
    # (known context is the final validation, already scored in the training set's label space)
    assert [m.seen_texts for m in built if len(m.seen_texts) == 2] == [
        [tax.labels(1, "fine")] * 2, [tax.labels(2, "fine")] * 2]
    assert [m.seen_texts for m in built if len(m.seen_texts) == 1] == [[tax.labels(2, "fine")],
                                                                       [tax.labels(1, "fine")]]
    p = read_predictions(run, 1, "unknown")  # Set 2's fine label space: ids up to 46
    assert all(0 <= x.pred < len(tax.fine_of_set(2)) for x in p)
    firsts = {c: next(f.id for f in tax.fine_of_set(2) if f.coarse_id == c) for c in range(4)}
    assert {x.true for x in p} == set(firsts.values())  # the tiny data's Set 2 fine classes


def test_benchmark_cli_prints_table(tiny_data, tmp_path, capsys):
    args = ["benchmark", "--data", str(tiny_data), "--model", TINY_MODEL, "--out", str(tmp_path / "cli"),
            "--epochs", "1", "--frames", "4", "--size", "32", "--batch-size", "4", "--workers", "0",
            "--no-progress", "--set", "tensorboard=false", "--set", "threads=1"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "r3d_tiny on syn-ta (coarse)" in out and "HM" in out
    assert load_run(tmp_path / "cli")["model"] == TINY_MODEL
