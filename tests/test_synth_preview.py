"""`tabench synth preview`: the contact sheet shows what `synth generate` renders, with the same options."""
from __future__ import annotations

import numpy as np
from PIL import Image

from tabench.cli import main
from tabench.synth.generate import frame_size

CLASS = "single_object_falling_straight_down_without_changing_direction"
BASE = ["synth", "preview", "--classes", CLASS, "--size", "32", "--frames-per-row", "3", "--max-frames", "10",
        "--background", "plain"]


def _sheet(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_preview_writes_one_row_per_class_with_the_requested_frames(tmp_path, capsys):
    assert main([*BASE, "--out", str(tmp_path / "s.png")]) == 0
    assert "1 classes" in capsys.readouterr().out
    w, h = frame_size(32)
    gap = max(2, h // 40)
    sheet = _sheet(tmp_path / "s.png")
    assert sheet.shape[:2] == (h + 2 * gap, max(160, int(w * 1.1)) + 3 * (w + gap))


def test_preview_draws_idle_objects_as_generate_does_and_none_leaves_them_out(tmp_path):
    for name, extra in (("default", []), ("explicit", ["--idle-objects", "2-5"]), ("none", ["--idle-objects", "none"])):
        assert main([*BASE, "--out", str(tmp_path / f"{name}.png"), *extra]) == 0
    default, explicit, none = (_sheet(tmp_path / f"{n}.png") for n in ("default", "explicit", "none"))
    assert np.array_equal(default, explicit)  # the default is generate's default
    assert not np.array_equal(default, none)  # one falling object + idle objects vs the object alone


def test_preview_rejects_bad_options_with_one_line(tmp_path, capsys):
    assert main([*BASE, "--out", str(tmp_path / "s.png"), "--idle-objects", "9-12"]) == 2
    assert "--idle-objects" in capsys.readouterr().err
    assert main([*BASE, "--out", str(tmp_path / "s.gif")]) == 2
    assert not (tmp_path / "s.gif").exists()
