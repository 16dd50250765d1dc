# Two commands do all the set-up on a fresh clone:
#   make demo   installs evotrain into .venv and runs the main job (an offline demo campaign)
#   make test   installs evotrain + test extras (and Debian's chromium for the dashboard test) and runs
#               ruff and the whole test suite, slow end-to-end tests included (what CI runs)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-test browser isolation lint

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'

# the dashboard test opens the generated HTML in headless Chromium (Debian's package; needs root)
browser:
	@[ -x /usr/bin/chromium ] || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null)

# job isolation (bubblewrap, Debian's package; needs root): without it scripted workers still run,
# unconfined, and LLM workers refuse to start unless --allow-unisolated (see `evotrain doctor`)
isolation:
	@[ -x /usr/bin/bwrap ] || (apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null) || \
		echo "bubblewrap could not be installed: jobs will run unisolated (evotrain doctor)"

demo: install isolation
	$(BIN)/evotrain demo

test: install-test browser isolation
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint:
	$(BIN)/ruff check .
