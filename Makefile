# Quick start: `make run` then `make test`. Both create .venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DAGSTER_HOME ?= $(CURDIR)/.dagster

.PHONY: install run test ui lint bench bench-scale demo-data clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/koryu run

test: $(STAMP)
	$(BIN)/ruff check koryu_pipeline koryu_pipeline_tests benchmarks
	$(BIN)/python -m pytest -q

ui: $(STAMP)
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -w workspace.yaml

lint: $(STAMP)
	$(BIN)/ruff check koryu_pipeline koryu_pipeline_tests benchmarks
	$(BIN)/ruff format --check koryu_pipeline koryu_pipeline_tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run_cost.py

# `make bench-scale ARGS=--skip-1m` for a quick run; `ARGS=--help` lists the options
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/scale.py $(ARGS)

demo-data: $(STAMP)
	$(BIN)/koryu demo-data

clean:
	rm -rf $(VENV) .dagster
