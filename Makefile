# Two set-up commands (see README): `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3
PIP := $(PYTHON) -m pip
# The CPU build of PyTorch on this kind of machine; override on a GPU machine (e.g. TORCH_SPEC="torch").
TORCH_SPEC ?= torch==2.13.0

.PHONY: install system-deps demo test test-all bench

system-deps:
	@bash scripts/install-system-deps.sh

install: system-deps
	$(PIP) install -q --disable-pip-version-check "$(TORCH_SPEC)"
	$(PIP) install -q --disable-pip-version-check -e ".[dev]"

demo: install
	HF_HUB_OFFLINE=1 $(PYTHON) -m tabench demo

# pytest exits 5 when a marker selects no test: not a failure.
test: install
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest -q || [ $$? -eq 5 ]

test-all: install
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest -q -m ""

bench: install
	$(PYTHON) benchmarks/run_all.py
