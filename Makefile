# Two commands: `make run` (pipeline + Dagster UI on embedded defaults) and `make test`.
# Both create the virtual environment at .venv first.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp
DAGSTER_HOME := $(CURDIR)/data/dagster_home
HOST ?= 127.0.0.1
PORT ?= 3000
TEST_WORKERS ?= 2

.PHONY: setup run test bench sample clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	mkdir -p $(DAGSTER_HOME) data/uploads
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@echo "Dagster UI: http://$(HOST):$(PORT)  |  drop spreadsheets into $(CURDIR)/data/uploads  |  Ctrl-C stops it"
	@# `dg dev` (the dg project in pyproject.toml); exec: Ctrl-C reaches it and it stops every process.
	@# SIGINT is reset first: a shell starts a background job (`make run &`) with SIGINT ignored, and
	@# Dagster then ignores SIGTERM too; reset, `kill PID` (or -INT) stops it like Ctrl-C.
	exec env DAGSTER_HOME=$(DAGSTER_HOME) ELEVRA_DATA_DIR=$(CURDIR)/data VIRTUAL_ENV=$(CURDIR)/$(VENV) \
		$(VENV)/bin/python -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
		$(VENV)/bin/dg dev -h $(HOST) -p $(PORT)

test: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

bench: setup
	$(VENV)/bin/elevra-pipeline bench quota --processes 4 --seconds 42

sample: setup
	$(VENV)/bin/python -m elevra_pipeline.samples.make_sample

clean:
	rm -rf data .pytest_cache
