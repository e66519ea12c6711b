# lsim: every command a developer or CI needs. `make demo` and `make test` set the machine up first.
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: setup demo test test-fast bench lint clean

setup:  ## install lsim, start (or install) the Docker engine, build the runtime images
	bash scripts/setup.sh

demo: setup  ## invoke the sample function in a real execution environment
	cd samples/hello && $(PYTHON) -m simulator.cli invoke hello --event events/greet.json

test: setup  ## the whole suite, Docker tests included
	$(PYTHON) -m pytest $(PYTEST_ARGS)

test-fast:  ## the tests that need no Docker engine
	$(PYTHON) -m pytest -m "not docker" $(PYTEST_ARGS)

bench: setup  ## the benchmarks: each figure printed against a baseline measured in the same run
	$(PYTHON) -m benchmarks

lint:  ## ruff, mypy, and the architecture's rules: import contracts (pyproject.toml) and module length
	$(PYTHON) -m ruff check simulator tests benchmarks
	$(PYTHON) -m ruff format --check simulator
	$(PYTHON) -m mypy simulator
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/test_architecture.py

clean:  ## remove every lsim container, VPC network and /tmp disk on this Docker engine (lsim clean --all)
	$(PYTHON) -m simulator.cli clean --all
