# AINTECH — every command works from a fresh clone: `make run` and `make test` bootstrap what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS := .local/tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11
STACK := $(UV) run --frozen python deploy/local/stack.py
PYTEST_ARGS ?= -q
BENCH_ARGS ?=

.PHONY: help bootstrap run up down status migrate seed test test-contract test-fast lint format bench docs dlq clean browser

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(TOOLS)/bin/uv:
	@echo "[make] installing uv $(UV_VERSION) into $(TOOLS)"
	@python3.11 -m venv $(TOOLS) && $(TOOLS)/bin/pip install -q "uv==$(UV_VERSION)"

.venv/.synced: uv.lock pyproject.toml libs/shared/pyproject.toml $(wildcard services/*/pyproject.toml) | $(UV)
	$(UV) sync --frozen
	@touch $@

bootstrap: .venv/.synced ## Install uv and every Python dependency (locked)

run: bootstrap ## Start Postgres, Kafka and the whole fleet in the foreground (Ctrl-C stops all)
	$(STACK) run

up: bootstrap ## Same as run, detached; returns once the gateway's /readyz is green
	$(STACK) up

down: ## Stop the detached fleet, Kafka and Postgres; leaves no process behind
	@if [ -x .venv/bin/python ]; then .venv/bin/python deploy/local/stack.py down; fi

status: bootstrap ## What is running
	$(STACK) status

migrate: bootstrap ## Create schemas, roles and topics; run every service's migrations
	$(STACK) migrate

seed: bootstrap ## Load the demo data
	$(STACK) seed

test: bootstrap ## The full suite on real Postgres and Kafka (started and stopped for the run); PYTEST_ARGS picks a part
	$(STACK) test -- $(PYTEST_ARGS)

test-contract: bootstrap ## The merged contract run alone, with its coverage phase too (make test runs it without): schemathesis, every check, merged OpenAPI via the gateway
	AINTECH_CONTRACT_PHASES=examples,coverage,fuzzing,stateful $(STACK) test -- -q -rP tests/e2e/test_openapi_contract.py

test-fast: bootstrap ## The suite without the fleet boot and the outage drills (marks e2e, slow)
	$(STACK) test -- $(PYTEST_ARGS) -m "not e2e and not slow"

lint: bootstrap ## ruff (lint + format check), the import rules (lint-imports), mypy (code and tests), the deploy checks (kustomize + kubeconform, hadolint, compose schema, promtool)
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen lint-imports --no-cache
	$(UV) run --frozen mypy
	$(UV) run --frozen python scripts/check_deploy.py

format: bootstrap ## Apply ruff fixes and formatting
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

bench: bootstrap ## Performance figures, each beside its target: hot path vs a bare anchor (wrk), crm, gateway, events, clients, logins, omnichannel, telephony, quotes, fraud, analytics; BENCH_ARGS="--only crm"
	@bench/ensure-wrk
	$(UV) run --frozen python bench/run.py $(BENCH_ARGS)

browser: ## Install Debian's chromium for the browser tests when it is missing (apt)
	@command -v chromium >/dev/null || { echo "[make] installing chromium"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

docs: bootstrap ## Regenerate docs/events.md from the event catalogue
	$(UV) run --frozen python -m aintech_devtools.eventdocs > docs/events.md

dlq: bootstrap ## Dead letters: make dlq ARGS="list" | ARGS="show crm.policy --offset 3" | ARGS="replay crm.policy --all"
	$(UV) run --frozen python -m aintech_devtools.dlq $(ARGS)

clean: down ## Remove local data (dev, test and bench Postgres and Kafka); keeps the tool and jar caches
	@if [ -x .venv/bin/python ]; then .venv/bin/python deploy/local/stack.py down --profile test; .venv/bin/python deploy/local/stack.py down --profile bench; fi
	rm -rf .local/dev .local/test .local/bench
