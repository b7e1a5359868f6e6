# The project's front door. `make run` and `make test` each do all set-up on a fresh
# Debian/Ubuntu machine with Python >= 3.11: system libraries, .venv, pinned packages.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= all
# An index to take torch from before the rest (e.g. https://download.pytorch.org/whl/cpu for
# PyTorch's CPU build where pip would otherwise take PyPI's CUDA build); empty: pip's own.
TORCH_INDEX ?=

.PHONY: setup run report test lint bench test-slurm clean

setup: $(STAMP)

$(STAMP): pyproject.toml tools/install-system-deps.sh
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	bash tools/install-system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(if $(TORCH_INDEX),$(BIN)/python -m pip install --quiet --index-url $(TORCH_INDEX) \
	  "$$(grep -o 'torch==[0-9.]*' pyproject.toml)")
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## The main job: the whole chain on the embedded synthetic data set, then the HTML report.
run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --profile profiles/default
	$(MAKE) report

report: $(STAMP)
	$(BIN)/snakemake --cores 1 --profile profiles/default --report results/report.html

## What CI runs (with a minimal TeX: a test compiles every LaTeX table).
test: $(STAMP)
	bash tools/install-system-deps.sh --tex
	$(BIN)/python -m pytest tests

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/snakemake --lint --cores 1

## Benchmarks; figures go to results/bench/.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m benchmarks

## The integration run on a real one-node SLURM cluster against the local run (as root:
## installs Debian's slurmctld, slurmd, slurm-client and munge if missing; stops what it starts).
test-slurm: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,slurm]'
	$(BIN)/python tools/slurm/local_cluster.py run -- \
	  env MICROEXP_SLURM_TEST=1 $(BIN)/python -m pytest -p no:cacheprovider -rA tests/slurm

clean:
	rm -rf results .snakemake
