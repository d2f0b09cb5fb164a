# The README's commands. `make demo` and `make test` work on a fresh clone with only Python 3.11.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PATRON := $(BIN)/patron
DEMO_CUSTOMERS ?= 2000

.PHONY: demo test lint install install-test install-lint browser bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

$(VENV)/.installed-lint: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[lint,test]'
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test browser
install-lint: $(VENV)/.installed-lint

# Browser tests drive Debian's Chromium through Playwright; Playwright never downloads a browser.
browser:
	@command -v chromium >/dev/null || { \
		echo "Installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo: install
	@$(PATRON) migrate
	@$(PATRON) createadmin
	@$(PATRON) demo-data --customers $(DEMO_CUSTOMERS)
	@$(PATRON) insights refresh
	@mkdir -p var; $(PATRON) worker > var/worker.log 2>&1 & worker=$$!; \
		trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		echo; echo "Patron is running on http://127.0.0.1:8000 - sign in as 'admin' with the password printed above"; \
		echo "(the worker logs to var/worker.log; stop both with Ctrl-C)"; echo; \
		$(PATRON) serve --host 127.0.0.1 --port 8000

test: install-test
	$(BIN)/pytest -n 2 -p no:cacheprovider

# PNGs of every main page of the demo shop into docs/screenshots/ (the README shows them).
screenshots: install-test
	$(BIN)/python scripts/screenshots.py --output docs/screenshots

lint: install-lint
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy patron
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) var build *.egg-info
