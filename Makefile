# The README's two commands are `make demo` and `make test`; both install what they need first.
# Second runs skip what is done: each step is a stamp file that depends on its lock.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SOLC_VERSION := 0.8.28
SOLC_DIR := $(CURDIR)/.build/solc

# Every command runs with the project's compiler shim, its anvil and a project-local Ape data
# folder (nothing is written to the user's ~/.ape).
export SOLCX_BINARY_PATH := $(SOLC_DIR)
export APE_DATA_FOLDER := $(CURDIR)/.build/ape
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)

# Set-up steps print one line each; what they print goes to .build/setup.log, whose end is shown
# (and the step fails) when one fails. $(call quietly,what,command): the command has no commas.
SETUP_LOG := $(CURDIR)/.build/setup.log
define quietly
	@mkdir -p $(dir $(SETUP_LOG)) && echo "set-up: $(1)" && echo "== $(1): $(2)" >> $(SETUP_LOG)
	@( $(2) ) >> $(SETUP_LOG) 2>&1 || { tail -n 30 $(SETUP_LOG); echo "set-up failed ($(1)): the whole output is in $(SETUP_LOG)"; exit 1; }
endef

.PHONY: setup demo test bench lint fmt lock clean anvil setup-llm test-llm demo-llm

setup: $(VENV)/.installed node_modules/.installed $(SOLC_DIR)/solc-v$(SOLC_VERSION) .build/.compiled .build/nvgpu/.installed

# NVIDIA's GPU verifier pins cryptography/pyOpenSSL/PyJWT versions Ape cannot share: own venv.
.build/nvgpu/.installed: requirements/nv-gpu-verifier.lock $(VENV)/.installed
	$(call quietly,NVIDIA GPU verifier (.build/nvgpu),test -x .build/nvgpu/bin/python || $(PYTHON) -m venv .build/nvgpu)
	$(call quietly,its packages (nv-gpu-verifier.lock),$(BIN)/uv pip sync --python .build/nvgpu/bin/python requirements/nv-gpu-verifier.lock)
	@touch $@

# The LLM engine (docs/llm.md) in its own venv: llama-cpp-python is an sdist compiling llama.cpp
# (about 7 min on 2 cores). Its wheel is built once into $(WHEELS) and found there next time
# (--find-links), so `make setup-llm WHEELS=dir` with a kept wheel installs in seconds. Needs only
# uv (the project venv's, else any on PATH, else one installed into .build/llm).
WHEELS ?= .build/wheels
LLM := .build/llm
LLAMA_PIN := $(shell grep -m1 '^llama-cpp-python==' requirements/llm.lock)
LLAMA_VERSION := $(patsubst llama-cpp-python==%,%,$(LLAMA_PIN))
LLM_UV = $(or $(wildcard $(BIN)/uv),$(shell command -v uv 2>/dev/null),$(LLM)/bin/uv)

setup-llm: $(LLM)/.installed

$(LLM)/.installed: requirements/llm.lock
	$(call quietly,LLM engine environment ($(LLM)),test -x $(LLM)/bin/python || $(PYTHON) -m venv $(LLM))
	$(call quietly,uv,test -x $(LLM_UV) || $(LLM)/bin/python -m pip install --disable-pip-version-check uv==0.13.9)
	$(call quietly,llama.cpp wheel in $(WHEELS) (built once: minutes),mkdir -p $(WHEELS) && { ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || $(LLM)/bin/python -m pip wheel --disable-pip-version-check --no-deps $(LLAMA_PIN) -w $(WHEELS); })
	$(call quietly,engine packages (llm.lock),$(LLM_UV) pip sync --python $(LLM)/bin/python --find-links $(WHEELS) requirements/llm.lock)
	@touch $@

$(VENV)/.installed: requirements/requirements.lock pyproject.toml
	$(call quietly,Python environment (.venv),test -x $(BIN)/python || $(PYTHON) -m venv $(VENV))
	$(call quietly,uv,$(BIN)/python -m pip install --disable-pip-version-check uv==0.13.9)
	$(call quietly,Python packages (requirements.lock),$(BIN)/uv pip sync --python $(BIN)/python requirements/requirements.lock)
	$(call quietly,this project (editable),$(BIN)/uv pip install --python $(BIN)/python --no-deps -e .)
	@touch $@

node_modules/.installed: package-lock.json
	$(call quietly,Node packages (package-lock.json: anvil and solc-js),npm ci --no-audit --no-fund)
	@touch $@

$(SOLC_DIR)/solc-v$(SOLC_VERSION): tools/solc-js-cli.js
	@mkdir -p $(SOLC_DIR)
	@printf '#!/bin/sh\nexec node "%s/tools/solc-js-cli.js" "$$@"\n' "$(CURDIR)" > $@
	@chmod +x $@

.build/.compiled: $(VENV)/.installed node_modules/.installed $(SOLC_DIR)/solc-v$(SOLC_VERSION) $(shell find contracts -name '*.sol' -not -path '*/.cache/*') ape-config.yaml
	@# --force: ape's incremental build misses contracts whose imported base changed
	$(call quietly,contracts (ape compile),$(BIN)/ape compile --force)
	$(call quietly,relayer ABIs,$(BIN)/python tools/relayer_abi.py)
	@touch $@

demo: setup
	@$(BIN)/ape run demo

# The project devnet in the foreground (pha-anvil: chain id 20350, 127.0.0.1:8545); Ctrl-C stops it.
# Options through ANVIL_ARGS, e.g. make anvil ANVIL_ARGS="--port 8546 --block-time 2".
anvil: setup
	$(BIN)/pha-anvil $(ANVIL_ARGS)

test: setup
	@$(BIN)/python tools/run_tests.py

# The tests that run the real inference engine (tests/llm); `make test` leaves them out.
test-llm: setup setup-llm
	@$(BIN)/python tools/run_tests.py llm

# One confidential chat job end to end (the engine, a worker, a relayer, a client).
demo-llm: setup setup-llm
	@$(BIN)/ape run demo --llm

# bench/llm.py runs the inference engine: the bench installs it (a kept wheel makes that seconds).
bench: setup setup-llm
	$(BIN)/python -m bench.run

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/slither contracts --config-file slither.config.json

fmt: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: $(VENV)/.installed
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 requirements/requirements.in \
		--override requirements/overrides.txt -o requirements/requirements.lock
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 requirements/llm.in -o requirements/llm.lock

clean:
	rm -rf .build contracts/.cache $(VENV) node_modules
