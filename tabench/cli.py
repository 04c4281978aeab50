"""The `tabench` command. Each subcommand lives in `tabench/commands/<name>.py` and exposes
`register(subparsers)`, which adds its parser and sets `func=handler` (handler(args) -> exit code).
Errors caused by the user's input are raised as `TabenchError` and printed as one line."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from tabench import TabenchError, __version__


class Parser(argparse.ArgumentParser):
    """A usage error is one line naming the command and the fault (argparse prints the whole usage block first,
    20 lines for `benchmark`, which hides the one that matters); `--help` still shows everything."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="tabench",
        description="Motion transferability benchmark: Syn-TA, K400-TA, SSv2-TA; known vs unknown context.",
    )
    parser.add_argument("--version", action="version", version=f"tabench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from tabench import commands

    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not mod.name.startswith("_"):
            importlib.import_module(f"tabench.commands.{mod.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except TabenchError as e:
        print(f"tabench: error: {one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:
        import errno

        if e.errno == errno.ENOSPC:
            print(f"tabench: error: no space left on {e.filename or 'the output device'}", file=sys.stderr)
            return 2
        raise
    except BrokenPipeError:  # e.g. `tabench taxonomy show k400-ta | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("tabench: interrupted", file=sys.stderr)
        return 130


def one_line(e: BaseException) -> str:
    """The user-facing line of a TabenchError, also when a DataLoader worker re-raised it with its traceback."""
    text = str(e)
    if "Original Traceback" in text:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        last = lines[-1] if lines else text
        text = last.split("TabenchError: ", 1)[-1]
    return text.splitlines()[0] if text else type(e).__name__
