# Kickoff: two commands. `make run` starts everything on the embedded defaults;
# `make test` runs the whole suite. Both create .venv and install on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench bench-tools soak install browsers clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Browser tests drive the system Chromium (Playwright cannot download its own here).
browsers:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || { \
	  echo "Installing Chromium for the browser tests (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; }

test: $(STAMP) browsers
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

run: $(STAMP)
	DEBUG=true PORT=$(PORT) HOST=$(HOST) $(PY) -m config.devstack

# wrk generates the HTTP load for the ingest benchmark (C, so it leaves the CPU to the server).
bench-tools:
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

bench: $(STAMP) bench-tools
	$(PY) -m tests.bench.run

soak: $(STAMP)
	$(PY) -m tests.bench.soak

clean:
	rm -rf var $(VENV)
