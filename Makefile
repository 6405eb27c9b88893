# Studyhall: `make run` serves on the embedded defaults, `make test` runs lint, types and tests.
SHELL := /bin/bash
PYTHON ?= python3
UV := .tools/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1

.PHONY: run test lint types tests e2e-deps clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

# `run` needs only the app; `test` adds the development group (lint, types, test tools).
$(VENV)/.app-deps: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --no-dev --inexact --quiet
	touch $@

$(VENV)/.dev-deps: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@ $(VENV)/.app-deps

run: $(VENV)/.app-deps
	$(VENV)/bin/studyhall serve

lint: $(VENV)/.dev-deps
	$(VENV)/bin/ruff check src tests $(wildcard bench)
	$(VENV)/bin/ruff format --check src tests $(wildcard bench)
	$(VENV)/bin/lint-imports

types: $(VENV)/.dev-deps
	$(VENV)/bin/mypy

# Browser tests need Debian's chromium and npm's axe-core; installed here when missing.
e2e-deps:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null; }
	@test -f node_modules/axe-core/axe.min.js || npm install --no-save --no-audit --no-fund --silent axe-core@4

tests: $(VENV)/.dev-deps e2e-deps
	$(VENV)/bin/pytest

test: lint types tests

clean:
	rm -rf $(VENV) .tools var node_modules .pytest_cache .mypy_cache .ruff_cache
