# Two entry points: `make demo` (the main job) and `make test` (the whole suite).
# Both create the virtual environment and install what they need themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-unit lint bench screenshots clean

# the e2e tests mostly wait (servers starting, motion, counting): two pytest workers, a
# test file each at a time (its module fixtures stay in one process); `PARALLEL=` for one.
# The `forked_server` tests run after them in one process: PyTango's test context forks
# its device server from the test process, and beside the other worker's stack on a busy
# host that fork's start-up handshake never completed (test_motion_device beside
# test_motion_e2e in two workers with a busy core: 7 of 8 runs; alone, or serially: 0 of 2)
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
	PYTHONFAULTHANDLER=1 $(BIN)/pytest -p no:cacheprovider $(PARALLEL) -m "not forked_server"; \
	  first=$$?; PYTHONFAULTHANDLER=1 $(BIN)/pytest -p no:cacheprovider -m forked_server; \
	  second=$$?; [ $$first -eq 0 ] && [ $$second -eq 0 ]  # a crashing child leaves its stacks in its log

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
