# Two commands matter: `make demo` (the local demonstration) and `make test` (the whole suite).
# Each creates the virtual environment and installs the project on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/driftwarden demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck
	$(BIN)/driftwarden validate --registry policies/
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .driftwarden .pytest_cache .mypy_cache .ruff_cache

# Deployment packages under out/: CloudFormation (merged with deploy/resources.json and
# deploy/stages/$(STAGE).json) and Terraform, then cfn-lint. `make package STAGE=dev`;
# PACKAGE_ARGS=--no-deps packages offline without requirements.txt (what CI lints).
STAGE        ?= prod
PACKAGE_ARGS ?=

.PHONY: package chromium

package: $(STAMP)
	VENV=$(VENV) scripts/package.sh --stage $(STAGE) $(PACKAGE_ARGS)

# Headless Chromium for tests/app/test_audit_html_browser.py: installed when missing (as root).
chromium:
	scripts/ensure-chromium.sh

test: chromium
