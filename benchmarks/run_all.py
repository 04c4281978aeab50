"""`make bench`: run every benchmark script of this folder in turn (data loading, models, Syn-TA generation, Rev-MViT memory).

Each script writes its own results (see benchmarks/README.md); this runner only starts them, one at a time (they
time things, so they must not share the CPUs), and exits non-zero if any failed.

    python benchmarks/run_all.py            # all
    python benchmarks/run_all.py data models  # some
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("data", "models", "synth", "memory")


def main(argv: list[str]) -> int:
    names = argv or list(SCRIPTS)
    unknown = [n for n in names if n not in SCRIPTS]
    if unknown:
        print(f"run_all: unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(SCRIPTS)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        t0 = time.time()
        print(f"== benchmarks/{name}.py", flush=True)
        rc = subprocess.call([sys.executable, str(HERE / f"{name}.py")], cwd=HERE.parent)
        print(f"== benchmarks/{name}.py: exit {rc} in {time.time() - t0:.0f} s", flush=True)
        if rc != 0:
            failed.append(name)
    if failed:
        print(f"run_all: failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
