# Token Papers: `make run` executes every replication, `make test` runs the checks. Both set up what they need first.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= 2
PROFILE ?= default
# where pip finds the CPU build of torch 2.13.0 on machines without it on local disk, e.g.
#   make test PIP_EXTRA="--extra-index-url https://download.pytorch.org/whl/cpu"
PIP_EXTRA ?=

.PHONY: setup run test lint lab kernels lock clean-venv help
help:
	@echo "make run   - set up, then execute every replication headlessly (papers run --all)"
	@echo "make test  - set up, then ruff + unit tests + nbval on every paper notebook"
	@echo "make lab   - JupyterLab with the project's kernels"

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml kernels/*/kernel.json ci/system-packages.txt
	@bash ci/install_system_packages.sh
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: Token Papers needs Python 3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(PIP_EXTRA) -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@for k in kernels/*/; do n=$$(basename $$k); \
	  $(BIN)/jupyter kernelspec install --sys-prefix --name token-papers-$$n $$k >/dev/null || exit 1; done
	@git config diff.jupyternotebook.command "$(CURDIR)/$(BIN)/git-nbdiffdriver diff" 2>/dev/null || true
	@$(BIN)/python -m shared.cli doctor --quiet
	@touch $@

kernels: $(STAMP)
	@$(BIN)/jupyter kernelspec list

run: $(STAMP)
	$(BIN)/papers run --all --profile $(PROFILE) --jobs $(JOBS)

lint: $(STAMP)
	$(BIN)/ruff check shared papers tests ci
	$(BIN)/ruff format --check shared papers tests ci

test: $(STAMP)
	$(BIN)/ruff check shared papers tests ci
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope --nbval-lax --nbval-kernel-name token-papers-cpu \
	  --nbval-sanitize-with ci/nbval_sanitize.cfg --nbval-cell-timeout 300 -q -ra

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=papers

lock:
	$(BIN)/python -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu/torch==\1/' > requirements.lock

clean-venv:
	rm -rf $(VENV)
