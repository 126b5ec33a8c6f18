# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test chaos lint format bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamp files: reinstall only when pyproject.toml changes.
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[embedded]'
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,embedded]'
	touch $@ $(VENV)/.runtime

$(VENV)/.bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,bench,embedded]'
	touch $@ $(VENV)/.dev $(VENV)/.runtime

demo: $(VENV)/.runtime
	$(BIN)/temaplan demo

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy api domain eventstore client runtime workflows activities temaplan audit catalogue documents worker.py starter.py bench tests

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest

# The chaos test's long form: 100 plans, >= 55 worker kills, restarts of both servers.
chaos: $(VENV)/.dev
	TEMAPLAN_CHAOS=long $(BIN)/python -m pytest -m chaos -p no:cacheprovider tests/chaos

bench: $(VENV)/.bench
	$(BIN)/python -m bench.eventstore_bench
	$(BIN)/python -m bench.plan_bench
	$(BIN)/python -m bench.audit_bench
	$(BIN)/python -m bench.log_bench
	$(BIN)/python -m bench.hearing_flood_bench --max-seconds 600
	$(BIN)/python -m bench.open_plans_bench

# The production image's pinned dependencies (Dockerfile), from pyproject.toml.
lock: pyproject.toml
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet 'pip-tools>=7.4,<8'
	$(VENV)-lock/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .data .mypy_cache .ruff_cache .pytest_cache
