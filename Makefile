# Touchpoint: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_AS ?= maya.chen@example.com

.PHONY: demo test test-clock lint fmt bench tone-model clean install install-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-run the install whenever pyproject.toml changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make demo: a local Touchpoint on ./touchpoint.db with the demo portfolio, in the terminal.
demo: $(VENV)/.installed
	$(BIN)/touchpoint db upgrade
	$(BIN)/touchpoint demo-data --if-empty
	$(BIN)/touchpoint summary
	$(BIN)/touchpoint console --as $(DEMO_AS)

## make test: the whole suite (PostgreSQL tests too when TOUCHPOINT_TEST_DATABASE_URL is set), on every core.
TEST_WORKERS ?= auto
test: $(VENV)/.installed-dev
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# Moments that catch a test which passes only on the day it was written: a day last year, a day next
# year, a leap day, the March and October/November DST changes in Europe and the US, and New Year's Eve.
CLOCK_MOMENTS ?= 2025-06-16T09:00:00+00:00 2027-12-06T15:00:00+00:00 2028-02-29T12:00:00+00:00 \
	2027-03-14T07:30:00+00:00 2027-03-28T01:30:00+00:00 2027-10-31T00:30:00+00:00 \
	2027-11-07T06:30:00+00:00 2026-12-31T23:30:00+00:00

## make test-clock: the suite again with the wall clock moved to each of CLOCK_MOMENTS.
test-clock: $(VENV)/.installed-dev
	@for moment in $(CLOCK_MOMENTS); do \
		echo "== wall clock at $$moment"; \
		$(BIN)/pytest -q -n $(TEST_WORKERS) -p no:cacheprovider --clock=$$moment $(PYTEST_ARGS) || exit 1; \
	done

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## make tone-model: train the tone model again from tests/tone/train.csv and print its figures.
tone-model: $(VENV)/.installed-dev
	$(BIN)/python -m tests.tone.train_model

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
