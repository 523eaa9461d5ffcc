# The front door: people, CI and CodeBuild all go through these targets.
# `make synth` and `make test` set everything up on a fresh machine (Python 3.11+, Node 20+).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := npx --no-install cdk
ENV ?=

# jsii prints a banner on Node 20; the CLI's telemetry would only time out offline.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 1
export CDK_DISABLE_CLI_TELEMETRY := true

# Stamps keyed on the requirement files' content: a second run installs nothing.
PY_STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt lambda_image/requirements.txt | sha256sum | cut -c1-16)
NPM_STAMP := node_modules/.installed-$(shell sha256sum package-lock.json | cut -c1-16)

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(PY_STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "error: Python 3.11+ is required (found $$($(PYTHON) --version 2>&1))"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: setup
setup: $(PY_STAMP) $(NPM_STAMP) ## Create .venv and node_modules (idempotent)

.PHONY: synth
synth: setup ## Synthesize every environment (or ENV=name) into cdk.out, offline
	$(CDK) synth --quiet $(if $(ENV),-c env=$(ENV))
	@ls cdk.out/*.template.json | sed 's|^|  |'

.PHONY: test
test: setup ## Run the whole suite and every gate (nag, cfn-lint, hadolint, ruff, mypy)
	$(PY) -m pytest

.PHONY: snapshot-update
snapshot-update: setup ## Refresh the template snapshots after an intended infrastructure change
	$(PY) -m pytest tests/infra -k snapshot --snapshot-update

.PHONY: lint
lint: setup ## Only the static gates (ruff, mypy), fast
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

.PHONY: format
format: setup ## Apply ruff's formatting and safe fixes
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

.PHONY: clean
clean: ## Remove build outputs (keeps .venv and node_modules)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache .bench

# ---- Training (training/) ------------------------------------------------------------------

# ---- Inference, locally (lambda_image/) ----------------------------------------------------

# ---- Deploy (infra/) -----------------------------------------------------------------------

# ---- Operations on a deployed environment (ops/) -------------------------------------------
