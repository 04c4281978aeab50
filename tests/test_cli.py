import argparse
import subprocess
import sys

import pytest

from tabench.cli import build_parser, main


def all_commands(parser, prefix=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,)
                yield from all_commands(sub, prefix + (name,))


def test_help_everywhere(capsys):
    commands = [(), *all_commands(build_parser())]  # () is `tabench --help` itself
    assert ("taxonomy", "show") in commands and ("metrics",) in commands and ("data", "check") in commands
    for cmd in commands:
        with pytest.raises(SystemExit) as e:
            main([*cmd, "--help"])
        assert e.value.code == 0, cmd
        out = capsys.readouterr().out
        assert " ".join(("usage: tabench", *cmd)) in out
        # a default is shown only where there is one: no "(default: None)" after a required or unset option
        assert "(default: None)" not in out and "(default: False)" not in out, cmd


def test_help_shows_real_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["synth", "generate", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 60)" in out and "(default: 112)" in out


def test_console_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "tabench", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("tabench ")


def test_a_usage_error_is_one_line_naming_the_command(capsys):
    with pytest.raises(SystemExit) as e:
        main(["benchmark", "--data", "d", "--out", "o", "--level", "bogus"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("tabench benchmark: error: argument --level")
    assert "see tabench benchmark --help" in err
