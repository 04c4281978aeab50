"""`tabench demo`: generation with the realistic -> plain fallback, reuse of generated data, and (slow) the
quick variant end to end."""
from __future__ import annotations

import json
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tabench import TabenchError  # noqa: E402
import tabench.demo as D  # noqa: E402


def test_generation_falls_back_to_plain_and_is_reused(tmp_path, monkeypatch, capsys):
    calls = []

    def fake_run(argv):
        bg = argv[argv.index("--background") + 1]
        calls.append(bg)
        if bg == "realistic":
            raise TabenchError("could not fetch background photos (offline)")

    monkeypatch.setattr(D, "_run_command", fake_run)
    rec = D.generate_data(tmp_path / "data", "quick", workers=1)
    assert calls == ["realistic", "plain"] and rec["background"] == "plain"
    assert "falling back to plain" in capsys.readouterr().out
    assert json.loads((tmp_path / "data" / "demo.json").read_text())["background"] == "plain"
    D.generate_data(tmp_path / "data", "quick", workers=1)  # reused: no generation call
    assert calls == ["realistic", "plain"]
    assert "reusing" in capsys.readouterr().out


def test_interrupted_generation_resumes_with_its_backgrounds(tmp_path, monkeypatch):
    calls = []

    def interrupted(argv):
        calls.append(argv[argv.index("--background") + 1])
        raise KeyboardInterrupt

    monkeypatch.setattr(D, "_run_command", interrupted)
    with pytest.raises(KeyboardInterrupt):
        D.generate_data(tmp_path / "data", "quick", workers=1)
    monkeypatch.setattr(D, "_run_command", lambda argv: calls.append(argv[argv.index("--background") + 1]))
    rec = D.generate_data(tmp_path / "data", "quick", workers=1)
    assert calls == ["realistic", "realistic"] and rec["background"] == "realistic"


def test_a_failure_of_plain_generation_is_not_hidden(tmp_path, monkeypatch):
    def broken(argv):
        raise TabenchError("no EGL context")

    monkeypatch.setattr(D, "_run_command", broken)
    with pytest.raises(TabenchError, match="no EGL context"):
        D.generate_data(tmp_path / "data", "quick", workers=1, background="plain")


def test_demo_models():
    from tabench.models import DEFAULT_CPU_MODEL, list_models

    assert D.demo_config("full", "coarse")["model"] == DEFAULT_CPU_MODEL
    fine = D.demo_config("quick", "fine")["model"]
    assert fine in list_models() and "minilm" in fine


@pytest.mark.slow
@pytest.mark.gl
def test_quick_demo_end_to_end_and_rerun(tmp_path, capsys):
    from tabench import cli
    from tabench.results import load_run

    out = tmp_path / "demo"
    assert cli.main(["demo", "--quick", "--out", str(out), "--background", "plain", "--workers", "1"]) == 0
    text = capsys.readouterr().out
    for col in ("Known", "Unknown", "Dabs", "Drel", "HM"):
        assert col in text
    res = load_run(out / "run")
    assert res["dataset"] == "syn-ta" and res["level"] == "coarse"
    assert "| Known" in (out / "report.md").read_text() or "Known" in (out / "report.md").read_text()
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "run" / "predictions").iterdir()}
    assert cli.main(["demo", "--quick", "--out", str(out), "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert "reusing the Syn-TA" in text and text.count("finished earlier, skipping") == 2
    assert mtimes == {p: p.stat().st_mtime_ns for p in (out / "run" / "predictions").iterdir()}
