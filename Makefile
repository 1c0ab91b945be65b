# Two commands do all the set-up on a fresh Debian machine (as root):
#   make run    install what is missing, build the BPF objects, run the default pipeline
#   make test   the same set-up, then lint, type checks and the whole test suite
# Re-running either is fast when nothing changed.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
ARGS   ?=

.PHONY: setup system venv bpf run test pytest lint bench clean

setup: system venv bpf

system:
	@bash scripts/setup-system.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/setup-venv.sh
	@bash scripts/setup-venv.sh $(PYTHON) $(VENV)
	@touch $@

bpf:
	@$(MAKE) --no-print-directory -s -C bpf

run: setup
	$(VENV)/bin/ebpf-collector run $(ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

pytest: setup
	$(VENV)/bin/pytest $(ARGS)

test: setup lint pytest

bench: setup
	$(PY) -m bench $(ARGS)

clean:
	$(MAKE) -C bpf clean
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
