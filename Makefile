# Two entry points that work on a fresh machine with only Python >= 3.11:
#   make demo   -- create .venv, install, run the Hokkaido alert demo (trackers demo)
#   make test   -- create .venv, install with test extras, lint, type-check and run the tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo simulate test lint bench data clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/trackers demo

simulate: $(STAMP)
	$(BIN)/trackers simulate hokkaido-2023

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy trackers
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check .

data: $(STAMP)
	$(BIN)/trackers data generate

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean-venv:
	rm -rf $(VENV)
