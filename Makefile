# The two commands of the README's quick start are `make dev` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: install dev test lint check-layers format bench-list ui ui-test

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

install: $(BIN)/.installed ui

## The web UI (web/): npm packages from the lock file, then a Vite build into the folder the
## server serves. Each step runs again only when its inputs changed.
UI_BUILD := src/armada/lookout/ui_build
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(UI_BUILD)/index.html: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npx vite build --logLevel warn

ui: $(UI_BUILD)/index.html

## The UI's format (Prettier), type check and unit tests (Vitest).
ui-test: web/node_modules/.installed
	cd web && npx prettier --check --log-level warn src && npx tsc --noEmit -p . && npx vitest run

## Install, then start every component on the embedded store (ARGS="--clusters 2" etc.).
dev: install
	$(BIN)/armada dev $(ARGS)

## Lint, type-check, check the layers and the structure (scripts/check_structure.py), then test.
test: lint ui ui-test
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_structure.py

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench
	cd web && npx prettier --write --log-level warn src
