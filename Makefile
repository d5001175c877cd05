# gridmap: `make demo` sets everything up and serves the demo; `make test` runs lint + tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: all setup system-deps venv web-assets db-up demo serve test pytest lint format bench clean stop

all: test

system-deps:
	bash scripts/install-system-deps.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

web-assets:
	bash scripts/install-web-assets.sh

setup: system-deps venv web-assets

db-up: setup
	$(BIN)/gridmap db up

# The main job: local PostGIS up, migrated, demo community loaded, server on :8000.
demo: db-up
	$(BIN)/gridmap demo load
	$(BIN)/gridmap serve --port 8000

serve: venv
	$(BIN)/gridmap serve

stop: venv
	$(BIN)/gridmap db down

lint: venv web-assets
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	build/web-assets/node_modules/.bin/eslint web_map/static/gridmap eslint.config.js

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

pytest: setup
	$(BIN)/pytest

# What CI runs (.ci/run): lint, then the whole suite against a PostGIS the tests start.
test: setup lint pytest

bench: setup
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
