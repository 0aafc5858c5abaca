# Backstop: every target installs what it needs from the pinned files first.
#   make simulate   deploy to a local anvil chain and replay a crash (the main job)
#   make test       the whole test suite (what CI runs)
#   make demo       deploy, open four positions, drop ETH 12%, print margin state

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# ape-foundry starts the anvil shipped by the npm package @foundry-rs/anvil.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
NETWORK ?= ethereum:local:foundry
PYTEST_ARGS ?=
SCENARIO ?= flash-crash
TRADERS ?= 200
SEED ?= 1

.PHONY: install simulate demo test bench fuzz clean

install: $(VENV)/.installed node_modules/.installed

# The lock file pins every package (resolved once from pyproject.toml's pins);
# installing from it skips dependency resolution and is reproducible.
$(VENV)/.installed: requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# `npm install` rather than `npm ci`: npm 11 writes a lock without the other
# platforms' optional anvil binaries, which `npm ci` then rejects. The version
# is pinned exactly in package.json and the lock is left unchanged.
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund
	touch $@

simulate: install
	PYTHONWARNINGS=ignore ape run simulate --network $(NETWORK) --scenario $(SCENARIO) --traders $(TRADERS) --seed $(SEED)

demo: install
	PYTHONWARNINGS=ignore ape run demo --network $(NETWORK)

test: install
	pytest $(PYTEST_ARGS)

bench: install  # ~22 min: gas, keeper latency, the simulator on anvil and revm, a 64-run sweep, one timed run of the suite
	python -m backstop.bench

fuzz: install
	HYPOTHESIS_PROFILE=deep pytest tests/stateful $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules .build .pytest_cache .hypothesis
