# The README's commands. `make train` and `make test` create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
# These machines have exactly these builds on disk; pyproject.toml keeps a wider range.
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install train test test-slow lint format bench clean-logs

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH_PINS)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

train: $(INSTALLED)  ## default job; pass overrides with ARGS="experiment=fmnist/mlp"
	$(BIN)/dlbasics-train $(ARGS)

test: $(INSTALLED)   ## fast suite; slow accuracy runs are `make test-slow`
	$(BIN)/python -m pytest $(ARGS)

test-slow: $(INSTALLED)
	$(BIN)/python -m pytest -m slow $(ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(INSTALLED)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(INSTALLED)
	$(BIN)/python benchmarks/epoch_time.py $(ARGS)
