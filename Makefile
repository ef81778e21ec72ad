# Two entry points: `make demo` (the main job) and `make test` (the whole suite).
# Both create the virtual environment and install what they need themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-unit lint bench screenshots clean

# the e2e tests mostly wait (servers starting, motion, counting): two pytest workers, a
# test file each at a time (its module fixtures stay in one process); `PARALLEL=` for one.
PARALLEL ?= -n 2 --dist loadfile

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip setuptools wheel
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/blisstango demo

test: $(STAMP)
	scripts/install-system-deps
	$(BIN)/ruff check .
	PYTHONFAULTHANDLER=1 $(BIN)/pytest -p no:cacheprovider $(PARALLEL)  # a crashing child leaves its stacks in its log

test-unit: $(STAMP)  # the tests that start no process (pytest marker `unit`): seconds, no server
	$(BIN)/pytest -p no:cacheprovider -q -m unit

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	@for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python $$b; done

screenshots: $(STAMP)  # the README's GUI pictures (docs/gui-*.png), taken by the GUI tests from the demo
	BLISSTANGO_SCREENSHOTS=docs $(BIN)/pytest -p no:cacheprovider -q tests/test_taurus_gui.py \
		-k "follows_every_attribute or synoptic_parses or plot_window"

clean:
	rm -rf $(VENV) build *.egg-info
