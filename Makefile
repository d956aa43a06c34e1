# Two commands matter: `make demo` (the local demonstration) and `make test` (the whole suite).
# Each creates the virtual environment and installs the project on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit install clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
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
	$(BIN)/python -m pytest -q -n 2

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

# The benchmark (bench/README.md): sweep, per-event and cold-start cost against moto on loopback,
# side by side with a naive reader, a bare bulk read and Cloud Custodian (installed into
# bench/.venv-c7n on first use). About 15 minutes on 2 cores; `bench-small` checks the harness.
.PHONY: bench bench-small

bench: $(STAMP)
	$(BIN)/python -m bench

bench-small: $(STAMP)
	$(BIN)/python -m bench --small --out bench/results/small.json

# Reliability figures (docs/reliability.md): the fault matrix against moto, fuzzing (10,000 events
# in memory and 500 end to end against moto) and the security checks, then the figures table.
# `make test` runs the same suites with short fuzz runs. About 3 minutes on 2 cores.
.PHONY: reliability

reliability: $(STAMP)
	$(BIN)/python reliability/run.py --events 10000 --e2e-events 500
