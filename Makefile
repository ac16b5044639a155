# Two commands: `make run` (pipeline + Dagster UI on embedded defaults) and `make test`.
# Both create the virtual environment at .venv first.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp
DAGSTER_HOME := $(CURDIR)/data/dagster_home
HOST ?= 127.0.0.1
PORT ?= 3000
API_PORT ?= 8000
TEST_WORKERS ?= 3

.PHONY: setup run test test-fast bench sample clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	mkdir -p $(DAGSTER_HOME) data/uploads
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@echo "Dagster UI: http://$(HOST):$(PORT)  |  upload page and API: http://$(HOST):$(API_PORT)  |  drop spreadsheets into $(CURDIR)/data/uploads  |  Ctrl-C stops both"
	@# `dg dev` (the dg project in pyproject.toml) and `elevra-pipeline serve`, side by side: Ctrl-C, or
	@# `kill PID` of make or of the side_by_side process, stops both (each with SIGINT, as Ctrl-C). SIGINT
	@# is reset for both: a shell starts a background job (`make run &`) with SIGINT ignored, and Dagster
	@# then ignores SIGTERM too (elevra_pipeline/side_by_side.py).
	exec env DAGSTER_HOME=$(DAGSTER_HOME) ELEVRA_DATA_DIR=$(CURDIR)/data VIRTUAL_ENV=$(CURDIR)/$(VENV) \
		$(VENV)/bin/python -m elevra_pipeline.side_by_side \
		"$(VENV)/bin/dg dev -h $(HOST) -p $(PORT)" \
		"$(VENV)/bin/elevra-pipeline serve --host $(HOST) --port $(API_PORT)"

test: setup
	@# the upload page's browser test needs Debian's chromium and chromium-driver: installed when missing
	@# and possible (root, apt-get); without them that one test skips, saying why
	@if ! command -v chromedriver >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; } || \
		echo "chromium could not be installed: the upload page's browser test will skip"; \
	fi
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# the unit layer only (no Dagster, no other process: elevra_pipeline_tests/layers.py)
test-fast: setup
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) -m unit $(PYTEST_ARGS)

bench: setup
	$(VENV)/bin/elevra-pipeline bench quota --processes 4 --seconds 42

sample: setup
	$(VENV)/bin/python -m elevra_pipeline.samples.make_sample

clean:
	rm -rf data .pytest_cache
