VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# checkov's own environment (requirements-scan.txt says why it is apart).
SCAN_VENV := $(VENV)/scan

.PHONY: run emulator test lint bench clean

# Every Python process here caches its bytecode (in the gitignored __pycache__/ folders and
# the venv), even where PYTHONDONTWRITEBYTECODE is set: uv installs without compiling, a stack
# starts five processes, and each compiled moto alone again on every start (1.5 CPU-s) and
# a test run starts them by the dozen.
unexport PYTHONDONTWRITEBYTECODE

# uv installs both environments: it resolves the same pinned files as pip would, but
# downloads in parallel and skips byte-compiling (Python writes each module's cache the
# first time it imports it, and the suite imports a fraction of what it installs). A fresh
# clone's setup: 151 s with pip one environment after the other, 101 s side by side, 19 s
# with uv. uv itself comes from pip, pinned; it reads PyPI (UV_INDEX_URL names another index).
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
UV_INSTALL := pip install --quiet

$(STAMP): requirements.txt requirements-dev.txt requirements-scan.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv --without-pip $(SCAN_VENV)
	$(UV) $(UV_INSTALL) --python $(SCAN_VENV)/bin/python -r requirements-scan.txt
	$(UV) $(UV_INSTALL) --python $(PY) -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m devstack $(ARGS)

# The local stack without its API, for a plain `chalice local --stage local` of your own.
emulator: $(STAMP)
	$(PY) -m devstack --no-api $(ARGS)

# On every core (pytest-xdist); a test file's tests stay on one worker, so a module's shared
# stack starts once. Files start in tests/conftest.py's order, the longest tiers first
# (xdist's own reorder, most tests first, started the minute-long soak last).
# TEST_WORKERS=0 runs in this process. ruff first (a second); mypy runs
# beside the tests (18 s from a fresh clone, on a core the tests leave idle part of the
# time) and its verdict is printed after theirs: either failing fails the run.
TEST_WORKERS ?= auto
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy > $(VENV)/mypy.log 2>&1 & lint=$$!; \
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder; tests=$$?; \
	wait $$lint; typed=$$?; echo "mypy: $$(tail -n 1 $(VENV)/mypy.log)"; \
	if [ $$typed -ne 0 ]; then cat $(VENV)/mypy.log; exit $$typed; fi; exit $$tests

# ruff, then mypy (strict) over app.py, chalicelib/ and the dev tooling.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

clean:
	rm -rf $(VENV) var .pytest_cache

# --- Deploying to AWS (infra/DEPLOY.md) ---------------------------------------
STAGE ?= dev
.PHONY: policies package deploy deploy-package

# Rewrite .chalice/policy-<stage>-<function>.json from infra/policies.py.
policies: $(STAMP)
	$(PY) -m infra.policies

# Path 1: one SAM template (chalice package --merge-template) in build/$(STAGE)/.
# A stage with CAPTCHA_PROVIDER takes its secret from LEADFLOW_CAPTCHA_SECRET (infra/captcha_secret.py).
package: $(STAMP)
	$(PY) -m infra.package --stage $(STAGE) --out build/$(STAGE)

# Path 1, continued: upload the code to ARTIFACT_BUCKET and deploy the stack.
deploy-package: package
	test -n "$(ARTIFACT_BUCKET)" || (echo "set ARTIFACT_BUCKET=<an S3 bucket for the code>" && exit 2)
	aws cloudformation package --template-file build/$(STAGE)/sam.json \
		--s3-bucket $(ARTIFACT_BUCKET) --output-template-file build/$(STAGE)/packaged.yaml
	aws cloudformation deploy --template-file build/$(STAGE)/packaged.yaml --stack-name leadflow-$(STAGE) \
		--capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
		$(if $(LEADFLOW_CAPTCHA_SECRET),--parameter-overrides CaptchaSecret="$$LEADFLOW_CAPTCHA_SECRET")

# Path 2: resources stack -> outputs into .chalice/config.json -> chalice deploy -> mapping settings.
deploy: $(STAMP)
	$(PY) -m infra.deploy --stage $(STAGE)

# --- Dead letters (ops/README.md) ----------------------------------------------
# List every DLQ with the reason (default), or redrive: make dlq ARGS="redrive --all --queue notifications".
# The local stack by default; another stage: ARGS="list --stage dev".
.PHONY: dlq
dlq: $(STAMP)
	$(PY) -m ops.dlq $(or $(ARGS),list)

# --- Proof: the fault-injection soak --------------------------------------------
# 500 leads through the local stack with SES faults, crashes, duplicates and a
# runtime restart; prints the reconciliation table (exit 1 on a lost or duplicated email).
.PHONY: soak
soak: $(STAMP)
	$(PY) -m devstack.soak --leads $(or $(LEADS),500)

# --- Proof: API fuzzing and benchmarks ---------------------------------------------
# The long fuzz profile: at least 10,000 generated requests (make test runs a quick one).
.PHONY: fuzz
fuzz: $(STAMP)
	LEADFLOW_FUZZ_PROFILE=long $(PY) -m pytest tests/fuzz

# Every bench/*.py; one table in var/bench/results.md. Only some: make bench BENCH="cold_start".
bench: $(STAMP)
	$(PY) bench/run_all.py $(BENCH)
