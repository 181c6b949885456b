# The README's two commands: `make demo` (the main job on the embedded default) and `make test`.
# Each creates the virtualenv and installs what it needs on a fresh machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench system-deps corpora clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: a fresh database in ./demo, the sample recipients imported and listed
demo: $(STAMP)
	bash scripts/demo.sh

## test: lint, type-check and the whole test suite (SQLite and PostgreSQL)
test: $(STAMP) system-deps corpora lint typecheck unit

system-deps:
	bash scripts/system-deps.sh

## corpora: other projects' mail samples the inbound tests read, into .cache/corpora/
corpora: $(STAMP)
	bash scripts/corpora.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	bash scripts/bench-deps.sh
	$(BIN)/python bench/import_recipients.py
	$(BIN)/python bench/render_letters.py
	$(BIN)/python bench/dispatch_letters.py
	$(BIN)/python bench/ingest_inbound.py
	$(BIN)/python bench/report_time.py
	$(BIN)/python bench/plan_followups.py

clean:
	rm -rf $(VENV) demo .mypy_cache .ruff_cache .pytest_cache .cache
