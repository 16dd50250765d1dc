# Two commands do all the set-up on a fresh clone:
#   make demo   installs evotrain into .venv and runs the main job (an offline demo campaign)
#   make test   installs evotrain + test extras (and Debian's chromium for the dashboard test) and runs
#               ruff and the whole test suite, slow end-to-end tests included (what CI runs)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-test browser lint

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

demo: install
	$(BIN)/evotrain demo

test: install-test browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint:
	$(BIN)/ruff check .
