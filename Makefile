# Two commands set everything up: `make demo` (example pipeline on the local stack) and `make test`; a third,
# `make airflow`, runs Airflow 3 itself (UI, scheduler, ...) on the local stack until Ctrl-C.
# Needs only python3 and access to PyPI: uv is bootstrapped into .tools/, the venv is built from uv.lock.
SHELL := /bin/bash
# Python 3.11-3.13 (what uv.lock covers): PYTHON=... if given, else the first of these that runs and is one of
# them (pyenv shims exist for versions that are not installed, so each is asked for its version).
PYTHON_CANDIDATES := python3.13 python3.12 python3.11 python3
PYTHON_VERSION_OK := import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))
find_python = $(firstword $(shell for p in $(1); do "$$p" -c '$(PYTHON_VERSION_OK)' >/dev/null 2>&1 && command -v "$$p"; done))
SELECTED_PYTHON := $(call find_python,$(if $(PYTHON),$(PYTHON),$(PYTHON_CANDIDATES)))
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced-dev
# the example dbt project and its manifest (rule below): set here, before the targets that depend on it
DBT_PROJECT := dags/dbt
DBT_MANIFEST := $(DBT_PROJECT)/target/manifest.json
export UV_PYTHON := $(SELECTED_PYTHON)
export UV_NO_PROGRESS := 1
# Byte-code is cached under .pycache/, never beside the sources (the tree stays clean). Without a cache every
# process compiles what it imports again: each `airflow dags test`, dbt run and service of the suite spent ~6 s
# compiling Airflow (PYTHONDONTWRITEBYTECODE=1, set on many machines and CI images, is turned off here for that).
export PYTHONDONTWRITEBYTECODE :=
export PYTHONPYCACHEPREFIX := $(CURDIR)/.pycache

.PHONY: venv test test-fast test-dbt-ls test-idempotency test-lowest fuzz demo dbt-manifest airflow airflow-run-types bench lint lock clean docs docs-serve python

python:  ## check for a Python the lock covers (3.11, 3.12 or 3.13) and say which one is used
	@if [ -z "$(SELECTED_PYTHON)" ]; then \
		echo "No suitable Python: this project needs Python 3.11, 3.12 or 3.13." >&2; \
		for p in $(if $(PYTHON),$(PYTHON),$(PYTHON_CANDIDATES)); do \
			if command -v "$$p" >/dev/null 2>&1; then \
				echo "  $$p: $$("$$p" --version 2>&1 | head -n 1)" >&2; \
			else \
				echo "  $$p: not found" >&2; \
			fi; \
		done; \
		echo "Install one of them, or point PYTHON at one: make PYTHON=/path/to/python3.12 ..." >&2; \
		exit 1; \
	fi
	@echo "Using $(SELECTED_PYTHON) ($$("$(SELECTED_PYTHON)" --version 2>&1))"

$(UV): | python
	$(SELECTED_PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMP): $(UV) uv.lock pyproject.toml local-stack/pyproject.toml
	$(UV) sync --frozen --extra dev
	touch $(STAMP)

venv: $(STAMP)  ## create/refresh .venv from the lock file

test: $(STAMP) $(DBT_MANIFEST)  ## the whole suite (unit, integration on the local stack, DAG runs)
	$(BIN)/pytest

test-fast: $(STAMP)  ## unit tests only
	$(BIN)/pytest -m "not integration and not slow"

test-dbt-ls: $(STAMP)  ## dbt node selection against a real `dbt ls` on every recorded selection (CI asks about a fifth)
	DATAENG_DBT_LS_ALL=1 $(BIN)/pytest tests/dbt/test_selection.py -k live_dbt_ls

test-idempotency: $(STAMP) $(DBT_MANIFEST)  ## the whole re-run/backfill scenario (five pipeline runs; CI runs two)
	DATAENG_IDEMPOTENCY=full $(BIN)/pytest tests/reliability/test_idempotency.py

fuzz: $(STAMP)  ## data-fidelity round trips with 5,000 generated examples and a random seed (FIDELITY_SEED=<n> reproduces)
	@seed=$${FIDELITY_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "fidelity fuzz: FIDELITY_SEED=$$seed FIDELITY_EXAMPLES=$${FIDELITY_EXAMPLES:-5000}"; \
	FIDELITY_SEED=$$seed FIDELITY_EXAMPLES=$${FIDELITY_EXAMPLES:-5000} $(BIN)/pytest tests/fidelity \
		|| { echo "fidelity fuzz FAILED with FIDELITY_SEED=$$seed (reproduce: make fuzz FIDELITY_SEED=$$seed)"; exit 1; }

# The lowest versions pyproject.toml allows for our direct dependencies (uv's lowest-direct resolution,
# ignoring the lock's [tool.uv] constraints), in a venv of their own.
LOWEST := .venv-lowest
LOWEST_EXTRAS := --extra dbt --extra parquet --extra local --extra test
# The unit tests that touch Airflow, the providers, dbt and the local stack (the pure SQL builders' thousands of
# golden tests add minutes and no version coverage: sqlglot is pinned by fakesnow either way).
LOWEST_TESTS := -m "not integration and not slow" tests/test_package.py tests/test_provider_info.py \
	tests/test_assets.py tests/test_dag_integrity.py tests/assets/test_customer_reporting.py tests/hooks \
	tests/quality tests/rest_api tests/dbt local-stack/tests/test_cli.py tests/lineage/test_links.py \
	tests/snowflake_load/test_operator_args.py tests/snowflake_load/test_operator_statements.py \
	tests/snowflake_merge/test_operator_args.py tests/snowflake_merge/test_operator_flow.py
# Every uv command names its interpreter: UV_PYTHON (exported above) would point `uv pip` at the base Python.
test-lowest: $(UV)  ## unit tests and one example DAG (local stack) on the lowest versions pyproject allows
	$(UV) venv --quiet --allow-existing --python $(SELECTED_PYTHON) $(LOWEST)
	@# dbt-core 1.12's build downloads from GitHub, which only PyPI-reachable machines cannot do
	echo 'dbt-core<1.12' > $(LOWEST)/constraints.txt
	rm -f $(LOWEST)/requirements.txt  # uv pip compile would prefer the versions an old output pins
	$(UV) pip compile --quiet --no-config pyproject.toml $(LOWEST_EXTRAS) --resolution lowest-direct \
		-c $(LOWEST)/constraints.txt --python $(LOWEST)/bin/python -o $(LOWEST)/requirements.txt
	@# the workspace member local-stack/ (dataeng-local, which the local extra names) is in the requirements as
	@# `-e file://.../local-stack`, its own dependencies resolved lowest-direct too
	$(UV) pip sync --quiet --python $(LOWEST)/bin/python $(LOWEST)/requirements.txt
	$(UV) pip install --quiet --python $(LOWEST)/bin/python --no-deps -e .
	$(LOWEST)/bin/python -m pytest $(LOWEST_TESTS) -q
	$(LOWEST)/bin/python scripts/dag_test.py events_microbatch 2024-01-08T00:05:00+00:00

demo: $(STAMP) $(DBT_MANIFEST)  ## run the example pipeline end to end on the local stack
	$(BIN)/python scripts/demo.py

# The example dbt project's manifest.json, the deploy artifact DAGs render dbt tasks from at parse time. Rebuilt
# only when a file of the project changed (make compares dates), so depending on it is cheap. dbt parse connects
# to nothing: without AIRFLOW_CONN_SNOWFLAKE_DEFAULT in the environment, the local stack's connection values
# (database DEMO, target local, as the example DAG runs) only name the warehouse; Airflow's config goes to a
# throwaway AIRFLOW_HOME.
# every file under the project but dbt's own output (make's functions only: no `find` needed on PATH)
rwildcard = $(foreach d,$(wildcard $(1:=/*)),$(call rwildcard,$d,$2) $(filter $(subst *,%,$2),$d))
DBT_PROJECT_FILES := $(filter-out $(addprefix $(DBT_PROJECT)/,target/% logs/% dbt_packages/%),\
	$(call rwildcard,$(DBT_PROJECT),*.sql *.py *.csv *.yml *.yaml *.md))
DBT_PARSE_CONN := {"conn_type": "snowflake", "login": "local", "password": "unused-by-dbt-parse", "schema": "PUBLIC", "extra": {"account": "fakesnow", "database": "DEMO"}}
$(DBT_MANIFEST): $(DBT_PROJECT_FILES) | $(STAMP)
	@home=$$(mktemp -d); trap 'rm -rf "$$home"' EXIT; \
	AIRFLOW_HOME=$$home AIRFLOW__CORE__LOAD_EXAMPLES=False DBT_SEND_ANONYMOUS_USAGE_STATS=False \
	AIRFLOW_CONN_SNOWFLAKE_DEFAULT=$${AIRFLOW_CONN_SNOWFLAKE_DEFAULT:-'$(DBT_PARSE_CONN)'} \
	$(BIN)/dataeng-dbt manifest $(DBT_PROJECT) --target $${DATAENG_DBT_TARGET:-local} 2>$$home/parse.log \
		|| { cat $$home/parse.log >&2; exit 1; }

dbt-manifest: $(DBT_MANIFEST)  ## the example dbt project's manifest.json (dbt parse; only when the project changed)

# Any option of `dataeng-local airflow`: make airflow ARGS="--port 8081 --parallelism 4"
airflow: $(STAMP) $(DBT_MANIFEST)  ## the local stack + Airflow 3 on http://127.0.0.1:8080 (login admin/admin); Ctrl-C stops all
	$(BIN)/dataeng-local airflow $(ARGS)

airflow-run-types: $(STAMP)  ## every run type of every example DAG under the real scheduler (long)
	DATAENG_RUN_TYPES=all $(BIN)/pytest tests/airflow_ui/test_run_types.py

bench: $(UV)  ## benchmarks side by side with peers; prints a table
	$(UV) sync --frozen --extra dev --extra bench
	rm -f $(STAMP)
	$(BIN)/python benchmarks/run.py

# ruff format covers the packages and the example DAGs (tests/ and benchmarks/ predate the formatter: checked, not
# formatted).
lint: $(STAMP)  ## ruff check (packages, tests, DAGs, benchmarks), ruff format --check (packages, DAGs), mypy (packages)
	$(BIN)/ruff check airflow_provider_dataeng local-stack tests dags benchmarks
	$(BIN)/ruff format --check airflow_provider_dataeng local-stack/dataeng_local dags
	$(BIN)/mypy airflow_provider_dataeng local-stack/dataeng_local

docs: $(STAMP)  ## build the docs site into site/ (fails on any warning)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(STAMP)  ## docs with live reload at http://127.0.0.1:8000
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

.PHONY: screenshots test-ui
test-ui: $(STAMP)  ## the browser test of the Airflow UI alone (part of make test; needs chromium: apt-get install chromium)
	$(BIN)/pytest tests/airflow_ui/test_ui.py

screenshots: $(STAMP)  ## refresh the Airflow UI screenshots in docs/images (runs the browser test)
	DATAENG_UI_SCREENSHOTS=$(CURDIR)/docs/images $(BIN)/pytest tests/airflow_ui/test_ui.py

lock: $(UV)  ## re-resolve uv.lock after changing dependencies in pyproject.toml
	$(UV) lock

clean:
	rm -rf $(VENV) $(LOWEST) $(TOOLS) .dataeng-local .pycache
