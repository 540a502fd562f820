# The project's vocabulary: make dev | test | lint | typecheck | template | build | bench | clean
SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help dev demo test lint typecheck template build unit integration e2e bench bench-quick static verify clean \
	openapi vendor

VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
SAM := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
export SAM_CLI_TELEMETRY := 0
export PYTHONPATH := $(CURDIR):$(CURDIR)/layers/common:$(CURDIR)/client

# A real Python 3.12: `python3.12` on PATH if it runs (a pyenv shim may refuse), else pyenv's versions folder.
PYTHON312 := $(shell for p in python3.12 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12 2>/dev/null | sort -rV); do \
	if "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then command -v "$$p"; break; fi; done)

help:
	@echo "make dev    run the whole product locally (API on 127.0.0.1:$${API_PORT:-3000})"
	@echo "make test   install what is missing, then run every check"
	@echo "make verify the reliability gate's deeper run (1,000 fuzz examples per operation; docs/RELIABILITY.md)"
	@echo "make openapi  rewrite functions/get_openapi/openapi.json from the functions' routes"
	@echo "make lint | typecheck | template | build | static | bench | clean"

python312:
	@if [ -z "$(PYTHON312)" ]; then \
	  echo "Python 3.12 is needed (the Lambda runtime is python3.12) and none was found." >&2; \
	  echo "Install it, e.g. 'pyenv install 3.12' or 'apt-get install python3.12 python3.12-venv', then re-run." >&2; \
	  exit 1; fi

$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt functions/authorizer/requirements.txt | python312
	@test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# aws-sam-cli pins its own boto3 and pydantic, so it lives in a venv of its own.
$(SAM_VENV)/.installed: | python312
	@test -x $(SAM_VENV)/bin/python || $(PYTHON312) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check "aws-sam-cli==$(SAM_CLI_VERSION)"
	@touch $@

# checkov pins its own boto3 too, so it has a venv of its own as well.
$(CHECKOV_VENV)/.installed: | python312
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON312) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check "checkov==$(CHECKOV_VERSION)"
	@touch $@

venv: $(VENV)/.installed

# Swagger UI's files for the local stack's /docs (offline), from the npm registry, checked against their integrity.
vendor: $(VENV)/.installed
	@$(PY) -m local.swagger_ui

dev: $(VENV)/.installed vendor
	$(PY) -m local.stack

# GET /openapi.json serves a file written from every function's route declaration (docs/adr/0014); a test fails
# when it is stale.
openapi: $(VENV)/.installed
	$(PY) -m local.openapi

# Every flow of both API documents against the local stack (the running `make dev` one, or its own).
demo: $(VENV)/.installed
	$(PY) -m local.demo

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy layers/common/telephony local client

# The template linted with SnapStart on and off: `sam validate --lint` checks both sides of its conditions, then
# cfn-lint checks the template and its SAM transform with each setting given (and a stand-in for the one parameter
# without a default, the LiveKit secret).
SNAPSTART_SETTINGS := Enabled Disabled

template: $(VENV)/.installed $(SAM_VENV)/.installed
	$(SAM) validate --lint --region us-east-1
	@mkdir -p .aws-sam
	@set -e; for setting in $(SNAPSTART_SETTINGS); do \
	  echo "SnapStart=$$setting"; \
	  $(VENV)/bin/cfn-lint template.yaml --regions us-east-1 --parameters SnapStart=$$setting LiveKitApiSecret=unchecked; \
	  $(PY) -m local.sam_transform template.yaml SnapStart=$$setting > .aws-sam/transformed-$$setting.json; \
	  $(VENV)/bin/cfn-lint .aws-sam/transformed-$$setting.json --parameters SnapStart=$$setting LiveKitApiSecret=unchecked; \
	done
	$(MAKE) --no-print-directory build

# The deployed code ships its bytecode: Lambda's /opt and /var/task are read-only, so without it every cold
# start compiles the layer (pydantic, Powertools, ours) from source again. Unchecked-hash .pyc files are used
# without comparing them to the sources (a deployed package never changes; the zip's 2-second timestamps
# would fail the default check). `.venv-sam/bin/sam deploy` ships .aws-sam/build as left here.
build: $(SAM_VENV)/.installed
	PATH="$(dir $(PYTHON312)):$$PATH" $(SAM) build
	$(PYTHON312) -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build

# Security linters: bandit on the code, checkov on the template after the SAM transform. Findings are
# suppressed only inline (# nosec, Metadata: checkov: skip) or in .checkov.yaml, each with its reason.
static: $(VENV)/.installed $(CHECKOV_VENV)/.installed
	@set -o pipefail; $(VENV)/bin/bandit -r layers functions local -q 2>&1 | { grep -v 'nosec encountered' || true; }
	@mkdir -p .aws-sam
	$(PY) -m local.sam_transform > .aws-sam/transformed.json
	BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE \
	  $(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml -f .aws-sam/transformed.json

test: lint typecheck template static vendor
	$(PY) -m pytest -q
	$(MAKE) --no-print-directory bench-quick

bench: $(VENV)/.installed
	$(PY) -m bench

# The benchmarks' code with few iterations (asserts no timings; fails if the benchmark code breaks).
bench-quick: $(VENV)/.installed
	$(PY) -m bench --quick

# The reliability gate's deeper run: schemathesis with 1,000 examples per operation (`make test` runs 100),
# then the gate's access, race, fault, secret and hostile-input tests again. About 20 minutes on 2 cores.
verify: $(VENV)/.installed
	GATE_FUZZ_EXAMPLES=1000 $(PY) -m pytest -q tests/gate

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
