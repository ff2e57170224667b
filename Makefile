# Two commands set everything up: `make demo` (example pipeline on the local stack) and `make test`; a third,
# `make airflow`, runs Airflow 3 itself (UI, scheduler, ...) on the local stack until Ctrl-C.
# Needs only python3 and access to PyPI: uv is bootstrapped into .tools/, the venv is built from uv.lock.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced-dev
export UV_PYTHON := $(shell command -v $(PYTHON))
export UV_NO_PROGRESS := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv test test-fast fuzz demo airflow airflow-run-types bench lint lock clean docs docs-serve

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMP): $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --extra dev
	touch $(STAMP)

venv: $(STAMP)  ## create/refresh .venv from the lock file

test: $(STAMP)  ## the whole suite (unit, integration on the local stack, DAG runs)
	$(BIN)/pytest

test-fast: $(STAMP)  ## unit tests only
	$(BIN)/pytest -m "not integration and not slow"

fuzz: $(STAMP)  ## data-fidelity round trips with 5,000 generated examples and a random seed (FIDELITY_SEED=<n> reproduces)
	@seed=$${FIDELITY_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "fidelity fuzz: FIDELITY_SEED=$$seed FIDELITY_EXAMPLES=$${FIDELITY_EXAMPLES:-5000}"; \
	FIDELITY_SEED=$$seed FIDELITY_EXAMPLES=$${FIDELITY_EXAMPLES:-5000} $(BIN)/pytest tests/fidelity \
		|| { echo "fidelity fuzz FAILED with FIDELITY_SEED=$$seed (reproduce: make fuzz FIDELITY_SEED=$$seed)"; exit 1; }

demo: $(STAMP)  ## run the example pipeline end to end on the local stack
	$(BIN)/python scripts/demo.py

# Any option of `dataeng-local airflow`: make airflow ARGS="--port 8081 --parallelism 4"
airflow: $(STAMP)  ## the local stack + Airflow 3 on http://127.0.0.1:8080 (login admin/admin); Ctrl-C stops all
	$(BIN)/dataeng-local airflow $(ARGS)

airflow-run-types: $(STAMP)  ## every run type of every example DAG under the real scheduler (long)
	DATAENG_RUN_TYPES=all $(BIN)/pytest tests/airflow_ui/test_run_types.py

bench: $(UV)  ## benchmarks side by side with peers; prints a table
	$(UV) sync --frozen --extra dev --extra bench
	rm -f $(STAMP)
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)
	$(BIN)/ruff check airflow_provider_dataeng tests dags benchmarks
	$(BIN)/ruff format --check airflow_provider_dataeng
	$(BIN)/mypy airflow_provider_dataeng

docs: $(STAMP)  ## build the docs site into site/ (fails on any warning)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(STAMP)  ## docs with live reload at http://127.0.0.1:8000
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

.PHONY: screenshots
screenshots: $(STAMP)  ## refresh the Airflow UI screenshots in docs/images (runs the browser test, tests/ui/)
	DATAENG_UI_SCREENSHOTS=$(CURDIR)/docs/images $(BIN)/pytest tests/ui

lock: $(UV)  ## re-resolve uv.lock after changing dependencies in pyproject.toml
	$(UV) lock

clean:
	rm -rf $(VENV) $(TOOLS) .dataeng-local
