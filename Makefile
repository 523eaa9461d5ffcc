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

# jsii prints an end-of-life banner on Node 20, which these machines may still have: silenced for
# 20 alone (the variable lists major versions), so a newer unsupported Node still warns. The CLI's
# telemetry would only time out offline.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true

# Stamps keyed on the locks' content: a second run installs nothing.
PY_STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt lambda_image/app/pyproject.toml | sha256sum | cut -c1-16)
NPM_STAMP := node_modules/.installed-$(shell sha256sum package-lock.json | cut -c1-16)

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(PY_STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "error: Python 3.11+ is required (found $$($(PYTHON) --version 2>&1))"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# The dev lock holds every set (app, image, training, tools): each file checked by its hash.
	$(PY) -m pip install --disable-pip-version-check --quiet --require-hashes -r requirements-dev.txt
	@# The runtime package, editable, as a plain path entry (compat mode) that mypy can follow:
	@# one import name, torchlambda, in the image, the tests, training and the ops tools. Built
	@# with the locked setuptools (no build isolation), so nothing unhashed is downloaded.
	$(PY) -m pip install --disable-pip-version-check --quiet --no-deps --no-build-isolation \
	  --config-settings editable_mode=compat -e ./lambda_image/app
	@rm -f $(VENV)/.installed-*
	@touch $@

$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: setup
setup: $(PY_STAMP) $(NPM_STAMP) ## Create .venv and node_modules (idempotent)

.PHONY: synth
synth: setup ## Synthesize every environment (or ENV=name) into cdk.out, offline
	@# Every stack sits in an environment's stage: '**' selects them all (a bare synth names only
	@# top-level stacks), and each stage writes its templates to its own cdk.out/assembly-<env>/.
	$(CDK) synth --quiet $(if $(ENV),-c env=$(ENV)) '**'
	@ls cdk.out/assembly-*/*.template.json | sed 's|^|  |'

.PHONY: synth-delivery
synth-delivery: setup ## Synthesize the delivery pipeline's stack (DELIVERY in infra/config.py) into cdk.out, offline
	@# The pipeline's synth step runs this too: the cloud assembly holds the delivery stack at the
	@# top and every environment's stage (its waves) beside it.
	$(CDK) synth --quiet -c delivery=1
	@ls cdk.out/*.template.json cdk.out/assembly-*/*.template.json | sed 's|^|  |'

.PHONY: test
test: setup ## Run the whole suite and every gate (nag, cfn-lint, hadolint, ruff, mypy)
	$(PY) -m pytest

.PHONY: test-fast
test-fast: setup ## The unit tier for the inner loop: no synthesis, servers, training or subprocesses
	$(PY) -m pytest -m "not slow and not synth and not integration" -q

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

# ---- Dependencies (*.in -> hash-locked *.txt) ----------------------------------------------
# Each lock is resolved for where it is installed: the app for any Python 3.11+, the dev set for
# CI's Python 3.11 with the CPU torch wheel (from PIP_FIND_LINKS when set, else PyTorch's CPU
# index), the image and training for the DLC's Python 3.12 on x86_64 Linux. Each later lock takes
# the one before as constraints, so a package they share has one version everywhere, and the
# 3.12 locks never pick a release the 3.11 dev set cannot install.
UV := $(VENV)/bin/uv
DLC_TARGET := --python-version 3.12 --python-platform x86_64-manylinux_2_28
# uv's default takes a package only from the first index that has it; best-match lets PyPI's
# files win for everything but torch's CPU build.
TORCH_SOURCE := $(if $(PIP_FIND_LINKS),$(foreach links,$(PIP_FIND_LINKS),--find-links '$(links)'),--extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match)
LOCK_FLAGS = --quiet --generate-hashes --custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)

# uv alone, hash-checked from the dev lock: re-locking must work when the lock itself does not
# install here (another platform, another build of a wheel).
$(UV):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PYTHON) -m tooling.locks requirements-dev.txt uv > $(VENV)/uv.txt
	$(PY) -m pip install --disable-pip-version-check --quiet --require-hashes --no-deps -r $(VENV)/uv.txt

.PHONY: lock
lock: $(UV) ## Re-lock every requirement set from its .in file, keeping locked versions that still fit
	$(UV) pip compile $(LOCK_FLAGS) --universal --python-version 3.11 requirements.in -o requirements.txt
	$(UV) pip compile $(LOCK_FLAGS) --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	  $(TORCH_SOURCE) -c requirements.txt requirements-dev.in -o requirements-dev.txt
	$(UV) pip compile $(LOCK_FLAGS) $(DLC_TARGET) --only-binary :all: -c requirements-dev.txt \
	  lambda_image/requirements.in -o lambda_image/requirements.txt
	$(UV) pip compile $(LOCK_FLAGS) $(DLC_TARGET) -c requirements-dev.txt \
	  training/requirements.in -o training/requirements.txt
	$(UV) pip compile $(LOCK_FLAGS) --universal --python-version 3.11 requirements-scan.in -o requirements-scan.txt

.PHONY: image-deps
image-deps: setup ## Measure each package the image's lock installs; rewrite the README's table
	$(PY) -m lambda_image.local.dependency_sizes --write README.md

.PHONY: upgrade
upgrade: ## Move every lock to the newest releases its .in allows; then run `make test`
	$(MAKE) lock UPGRADE=1

.PHONY: clean
clean: ## Remove build outputs (keeps .venv and node_modules)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache .bench

# ---- Training (training/) ------------------------------------------------------------------

TRAINING_DATA := training/data/train.csv
TRAINING_TEST_DATA := training/data/test.csv
# The quality gate the environments apply in CodeBuild (infra/config.py), read when `train` runs.
MAX_VAL_MSE ?= $(shell $(PY) -c 'from infra.config import get_environment as e; print(e("dev").training.max_validation_mse)')
# Where `make train` writes: TRAIN_OUT=lambda_image/challenger SEED=1 trains a local challenger.
TRAIN_OUT ?= lambda_image/model

.PHONY: train
train: setup ## Train on the default dataset into lambda_image/model/, behind the quality gate [TRAIN_OUT=dir] [SEED=n]
	$(PY) -m training.train --data $(TRAINING_DATA) --test-data $(TRAINING_TEST_DATA) --out '$(TRAIN_OUT)' --max-val-mse '$(MAX_VAL_MSE)' $(if $(SEED),--seed '$(SEED)')

.PHONY: bench-train
bench-train: setup ## Our trainer against the book's procedure, side by side (the book's takes minutes)
	$(PY) -m training.benchmarks.run --work .bench/train

# ---- Inference, locally (lambda_image/) ----------------------------------------------------
# MODEL_DIR: the model the handler serves locally (the image bakes lambda_image/model in).
MODEL_DIR ?= lambda_image/model
PORT ?= 3000
EVENT ?= lambda_image/events/predict-get.json
LOCAL_FUNCTION_ENV := MODEL_DIR=$(MODEL_DIR)
# An experiment, locally (docs/experiments.md): EXPERIMENT=shadow|split [SPLIT_WEIGHT=0.2]
# [STICKY_HEADER=x-user-id] [CHALLENGER_DIR=lambda_image/challenger]; the server appends its log
# lines to SERVE_LOG, which `make ab-report-local` reads.
EXPERIMENT_ENV := $(foreach name,EXPERIMENT SPLIT_WEIGHT STICKY_HEADER CHALLENGER_DIR,$(if $($(name)),$(name)='$($(name))'))
SERVE_LOG ?= .serve/serve.log

.PHONY: invoke
invoke: setup ## Run the handler once on an event file: make invoke EVENT=lambda_image/events/health.json
	$(LOCAL_FUNCTION_ENV) $(PY) -m lambda_image.local.invoke '$(EVENT)'

.PHONY: invoke-rie
invoke-rie: setup ## The image's entry point once under the Lambda RIE (REPORT line on stderr): make invoke-rie EVENT=...
	$(LOCAL_FUNCTION_ENV) $(PY) -m lambda_image.local.invoke --rie '$(EVENT)'

.PHONY: serve
serve: setup ## Serve the handler on http://127.0.0.1:$(PORT) as API Gateway would (PORT=3000) [EXPERIMENT=shadow|split]
	$(LOCAL_FUNCTION_ENV) $(EXPERIMENT_ENV) POWERTOOLS_METRICS_DISABLED=true $(PY) -u -m lambda_image.local.serve --port $(PORT) --log '$(SERVE_LOG)'

.PHONY: batch-local
batch-local: setup ## Score local files as a batch job's worker would: make batch-local INPUT=file-or-dir OUTPUT=dir
	$(LOCAL_FUNCTION_ENV) $(PY) -m lambda_image.local.batch --input '$(INPUT)' --output '$(OUTPUT)'

.PHONY: bench-batch
bench-batch: setup ## Batch scoring's rows/s and peak RSS on a 5M-row gzip CSV, beside the online POST (table)
	$(LOCAL_FUNCTION_ENV) $(PY) -m lambda_image.local.bench_batch

.PHONY: bench-serve
bench-serve: setup ## Benchmark the handler against loading the model per request, and its Lambda Duration under the RIE (tables)
	$(LOCAL_FUNCTION_ENV) $(PY) -m lambda_image.local.bench

# ---- Deploy (ops/deploy/) ------------------------------------------------------------------
# Each checks credentials (and Docker, and the DLC registry login) first, then runs the pinned CLI.

.PHONY: deploy
deploy: setup ## Deploy one environment's stacks: make deploy ENV=dev
	$(PY) -m ops deploy --env '$(ENV)'

.PHONY: diff
diff: setup ## Compare one environment with what is deployed: make diff ENV=staging
	$(PY) -m ops diff --env '$(ENV)'

.PHONY: destroy
destroy: setup ## Delete one environment's stacks (refuses prod): make destroy ENV=dev
	$(PY) -m ops destroy --env '$(ENV)'

.PHONY: docs
docs: setup ## Regenerate README's environments table and docs/openapi.json (from the routes table)
	$(PY) -m infra.settings_table
	$(PY) -m lambda_image.local.openapi --out docs/openapi.json

# checkov lives in its own venv: a large install that `make test` and requirements-dev.txt do not need.
SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed-$(shell sha256sum requirements-scan.txt | cut -c1-16)

$(SCAN_STAMP):
	@test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --disable-pip-version-check --quiet --require-hashes -r requirements-scan.txt
	@rm -f $(SCAN_VENV)/.installed-*
	@touch $@

.PHONY: scan
scan: synth $(SCAN_STAMP) ## Scan the synthesized templates with checkov (skips and reasons in .checkov.yaml)
	$(SCAN_VENV)/bin/checkov --config-file .checkov.yaml --directory cdk.out

# ---- Operations on a deployed environment (ops/) -------------------------------------------
# AWS credentials come from the usual places (profile, SSO, environment); each environment's region
# and stack names from infra/config.py. Every failure is one `error:` line and a non-zero exit.
OPS := $(PY) -m ops

.PHONY: train-remote
train-remote: setup ## Train in CodeBuild, follow it, fetch the model: ENV=dev [DATA=path.csv]
	$(OPS) train-remote --env '$(ENV)' $(if $(DATA),--data '$(DATA)')

.PHONY: copy-model
copy-model: setup ## Copy a published build onto an EFS environment's file system: ENV=prod [BUILD=id]
	$(OPS) copy-model --env '$(ENV)' $(if $(BUILD),--build '$(BUILD)')

# fetch-model's AS=champion|challenger: make's built-in AS (the assembler) must not reach it.
ifeq ($(origin AS),default)
AS :=
endif

.PHONY: fetch-model
fetch-model: setup ## Install a published model into lambda_image/model (AS=challenger: lambda_image/challenger): ENV=dev [BUILD=id | FROM=latest|champion] [AS=champion|challenger]
	$(OPS) fetch-model --env '$(ENV)' $(if $(BUILD),--build '$(BUILD)') $(if $(FROM),--from '$(FROM)') $(if $(AS),--as '$(AS)')

.PHONY: retrain
retrain: setup ## Retrain in the cloud (train, evaluate, gate, promote), follow it: ENV=dev
	$(OPS) retrain --env '$(ENV)'

# FORCE is free text: it reaches the command from make's environment, any quote in it intact.
.PHONY: promote
promote: setup ## Make a build the champion through the gate (roll back: FORCE=reason): ENV=dev BUILD=id [FORCE=reason]
	$(OPS) promote --env '$(ENV)' --build '$(BUILD)' $(if $(FORCE),--force "$$FORCE")

.PHONY: champion
champion: setup ## What an environment serves and why, beside the newest build: ENV=dev
	$(OPS) champion --env '$(ENV)'

.PHONY: batch
batch: setup ## Score a data set with the batch job, follow it: ENV=dev INPUT=path-or-s3-uri [OUTPUT=dir]
	$(OPS) batch --env '$(ENV)' --input '$(INPUT)' $(if $(OUTPUT),--output '$(OUTPUT)')

.PHONY: smoke
smoke: setup ## Check an API against the HTTP contract: ENV=dev or URL=http://127.0.0.1:3000
	$(OPS) smoke $(if $(ENV),--env '$(ENV)') $(if $(URL),--url '$(URL)') $(if $(SMOKE_REQUESTS),--requests '$(SMOKE_REQUESTS)') $(if $(SMOKE_DEADLINE),--deadline '$(SMOKE_DEADLINE)')

.PHONY: logs
logs: setup ## Follow the inference function's logs until Ctrl-C: ENV=dev [SINCE=10m] [FILTER=pattern]
	$(OPS) logs --env '$(ENV)' $(if $(SINCE),--since '$(SINCE)') $(if $(value FILTER),--filter '$(value FILTER)')

# PROMOTE=1 hands a "challenger better" verdict to the lifecycle gate (docs/experiments.md).
.PHONY: ab-report
ab-report: setup ## Champion vs challenger on the logged feedback, with a verdict: ENV=dev [SINCE=7d] [PROMOTE=1]
	$(OPS) ab-report --env '$(ENV)' $(if $(SINCE),--since '$(SINCE)') $(if $(PROMOTE),--promote)

.PHONY: ab-report-local
ab-report-local: setup ## The same report from the local server's log: [SERVE_LOG=.serve/serve.log] [ENV=dev]
	$(OPS) ab-report-local --log '$(SERVE_LOG)' $(if $(ENV),--env '$(ENV)')

.PHONY: cost
cost: setup ## Monthly cost vs on-demand and m6i.large, plot in docs/: ENV=prod [REQUESTS=10M] [DURATION_MS=20] [SIZE_MB=2048] [INITS=360] [RETRAINS=4] [TRAIN_MINUTES=10] [RUNS=20]
	$(OPS) cost --env '$(ENV)' $(if $(REQUESTS),--requests '$(REQUESTS)') $(if $(DURATION_MS),--duration-ms '$(DURATION_MS)') $(if $(SIZE_MB),--size-mb '$(SIZE_MB)') $(if $(INITS),--inits '$(INITS)') $(if $(RETRAINS),--retrains '$(RETRAINS)') $(if $(TRAIN_MINUTES),--train-minutes '$(TRAIN_MINUTES)') $(if $(RUNS),--pipeline-runs '$(RUNS)') $(if $(PLOT),--plot '$(PLOT)')
