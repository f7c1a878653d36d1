# Set-up and checks for amplifier_ls. Every target installs what it needs into .venv, so a
# fresh clone needs only Python 3.11+, a C/C++ compiler and CMake (llama-cpp-python builds
# llama.cpp from source on install).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# A portable llama.cpp build: pip caches the wheel, and a wheel built with -march=native
# would crash on a machine with an older CPU.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: demo test setup setup-test test-python test-editors benchmark clean

demo: setup
	$(BIN)/amplifier-ls predict examples/simonw-til/draft.md

test: setup-test
	$(BIN)/python -m pytest

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

setup-test: $(VENV)/.installed-test

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml scripts/setup-test.sh
	$(BIN)/python -m pip install --quiet -e '.[test,eval]'
	bash scripts/setup-test.sh
	touch $@

benchmark: setup
	$(BIN)/python benchmarks/core.py

clean:
	rm -rf $(VENV) build *.egg-info
