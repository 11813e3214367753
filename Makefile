# The mentorship platform. `make run` starts everything locally; `make test` runs the whole suite.
# Both install what is missing first: uv and the Python deps (uv.lock), the Kafka jars and the
# store (mongo-java-server and our launcher), the npm tools (the AsyncAPI parser that checks our
# documents, the AsyncAPI viewer served at /docs/asyncapi) and the deployment tools (helm and compose
# built from the Go module proxy, Zipkin's jar), cached outside the repo in $(MENTORSHIP_CACHE), keyed by
# version; Debian's chromium for the docs pages' browser test (as root).

SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export MENTORSHIP_CACHE ?= $(HOME)/.cache/mentorship
PYTHON ?= python3
# The venv's interpreter: CPython 3.13, which `make install` builds once per machine from its
# release sources with profile-guided and link-time optimisation into the cache
# (deploy/local/interpreter.py says why and what it measured). `make install VENV_PYTHON=...` names
# another (3.11-3.13) and builds nothing. Choose an optimised one, as distributions build theirs:
# pyenv's default build (first on this machine's PATH) has neither optimisation, and Debian's 3.11
# ran matching's flood at x1.085 records/s, CPU per record x0.910, against it.
MANAGED_PYTHON := $(shell $(PYTHON) deploy/local/interpreter.py --path)
VENV_PYTHON ?= $(MANAGED_PYTHON)
export UV_PYTHON := $(VENV_PYTHON)
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen --no-sync
LOCALSTACK := PYTHONPATH=deploy/local $(RUN) python -m localstack
TOOLS := PYTHONPATH=deploy/local $(RUN) python -m localstack.tools
ARGS ?=

.PHONY: help install run-deps python-deps servers deploy-tools run token clock simulate test test-fast test-deploy deploy-prereqs lint format docs check-asyncapi bench bench-sessions bench-matching clean stop status reset

help:
	@echo "make run     start Kafka, the store and the four services (Ctrl-C stops all)"
	@echo "make token   a development token: make -s token PERSON=bob ORG=demo ROLES=employee,program_admin"
	@echo "make clock [ADVANCE=3d]   show or move forward the shared clock of what make run started"
	@echo "make simulate [PEOPLE=500 MONTHS=12 STEP_DAYS=3]   a simulated programme year with faults, checked"
	@echo "make test    run the whole suite (ARGS='tests/x -k y' passes arguments to pytest)"
	@echo "make test-fast   only the tests that need no server (seconds)"
	@echo "make test-deploy build the images, run compose (2 replicas each) and the chart on kube-apiserver (minutes)"
	@echo "make lint    ruff (lint + format check) and mypy --strict"
	@echo "make docs    regenerate JSON Schema and AsyncAPI files from schemas/"
	@echo "make check-asyncapi   check every AsyncAPI document with the official @asyncapi/parser"
	@echo "make status | stop   the local Kafka and store started by make run"
	@echo "make reset   stop them and forget all local data"

install: python-deps servers deploy-tools

# What `make run` needs: the servers and the trace UI (Zipkin's jar), no Go toolchain.
run-deps: python-deps servers
	@$(TOOLS) zipkin >/dev/null

# Bytecode compiled at install: a Python that may not write it (PYTHONDONTWRITEBYTECODE, as on
# this machine) would compile every imported module at every start (a service: 4.7 s, then 2.4 s).
python-deps:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check "uv>=0.5"
	@if [ "$(VENV_PYTHON)" = "$(MANAGED_PYTHON)" ]; then $(PYTHON) deploy/local/interpreter.py >/dev/null; fi
	@$(UV) sync --frozen --quiet --compile-bytecode

servers: python-deps
	@$(LOCALSTACK) install

# helm and compose check the chart and the compose file in make test (built with Go; on a machine
# without Go and without them in the cache, those tests skip); Zipkin is make run's trace UI.
deploy-tools: python-deps
	@$(TOOLS) --go-optional helm compose zipkin

run: run-deps
	@$(RUN) python deploy/local/run_platform.py

# A development token for anyone: make -s token PERSON=bob ORG=demo ROLES=employee,program_admin
PERSON ?= alice
ORG ?= demo
ROLES ?= employee
token: python-deps
	@PYTHONPATH=deploy/local $(RUN) python deploy/local/dev_token.py --person "$(PERSON)" --org "$(ORG)" --roles "$(ROLES)"

ADVANCE ?=
clock: python-deps
	@PYTHONPATH=deploy/local $(RUN) python deploy/local/platform_clock.py $(ADVANCE)

PEOPLE ?= 500
MONTHS ?= 12
STEP_DAYS ?= 3
simulate: install
	PYTHONPATH=deploy/local $(RUN) python -m simulation --people $(PEOPLE) --months $(MONTHS) --step-days $(STEP_DAYS) $(ARGS)

# Three workers, each with its own Kafka and store, one test file per worker at a time: most tests
# wait on brokers and clocks, so three of them share two cores well (TEST_WORKERS=0 runs in one).
TEST_WORKERS ?= 3
test: install
	$(RUN) pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile) $(ARGS)

# Not part of make test: a private dockerd, debootstrap base images, compose and a kube-apiserver.
test-deploy: install deploy-prereqs
	@$(TOOLS) kube-apiserver
	@started=$$(date +%s); \
	MENTORSHIP_TEST_DEPLOY=1 $(RUN) pytest tests/deploy -m deploy_platform -s $(ARGS); status=$$?; \
	echo "make test-deploy: pytest took $$(( $$(date +%s) - started ))s"; exit $$status

# Debian's docker.io (dockerd), debootstrap and etcd-server, installed when missing (needs root).
deploy-prereqs:
	@command -v dockerd >/dev/null && command -v debootstrap >/dev/null && command -v etcd >/dev/null || \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io debootstrap etcd-server; }

test-fast: python-deps
	$(RUN) pytest -m fast $(ARGS)

lint: python-deps
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy schemas/src libs/servicekit/src services/*/src deploy/local scripts benchmarks simulation

format: python-deps
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

docs: python-deps
	$(RUN) python scripts/generate_docs.py

check-asyncapi: install
	$(RUN) pytest -q tests/contract/test_asyncapi_parser.py

bench: install
	$(RUN) python benchmarks/run.py

bench-sessions: install
	$(RUN) python benchmarks/sessions_sweep.py

bench-matching: python-deps
	$(RUN) python benchmarks/bench_matching.py

status: python-deps
	@$(LOCALSTACK) status

stop: python-deps
	@$(LOCALSTACK) stop

reset: python-deps
	@$(LOCALSTACK) reset

clean:
	rm -rf .local .pytest_cache .mypy_cache .ruff_cache
