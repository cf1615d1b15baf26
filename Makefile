# System Design Lab: `make lab` to learn, `make test` to check everything.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JUPYTER_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test lint typecheck unit grade grade-check notebooks nbval bench clean help

help:
	@echo "make lab        start JupyterLab at notebooks/00_start_here.ipynb (creates .venv/ first)"
	@echo "make test       every check: lint, types, tests, doctests, graders, notebooks"
	@echo "make grade      your exercise score table (CHAPTER=10: one chapter; EX=snowflake-encode: one exercise)"
	@echo "make notebooks  re-execute every notebook in place"
	@echo "make bench      throughput benchmarks, as ratios"
	@echo "make lint       ruff + mypy"

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { \
		echo "Python 3.11 is needed: found '$(PYTHON)' ($$($(PYTHON) --version 2>&1))." \
		     "Install python3.11, or run: make PYTHON=/path/to/python3.11 ..."; exit 1; }
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then \
		echo "$(VENV) was made with another Python: recreating it"; rm -rf $(VENV); fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --ip=127.0.0.1 $(JUPYTER_ROOT_FLAG) \
		--LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb

lint: $(STAMP)
	$(BIN)/ruff check reference exercises tests benchmarks tools
	$(BIN)/mypy reference

unit: $(STAMP)
	$(BIN)/pytest tests reference --doctest-modules -q

grade-check: $(STAMP)
	$(BIN)/python -m exercises.grade --solution --expect full
	$(BIN)/python -m exercises.grade --expect zero --only-if-untouched

nbval: $(STAMP)
	$(BIN)/pytest --nbval --nbval-current-env -p no:cacheprovider notebooks/ -q

test: lint unit grade-check nbval
	$(BIN)/pytest tests/browser -q -rs
	@echo "make test: every check passed"

grade: $(STAMP)
	$(BIN)/python -m exercises.grade $(if $(CHAPTER),--chapter $(CHAPTER),) $(if $(EX),--only $(EX),)

notebooks: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py $(or $(NB),notebooks)

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
