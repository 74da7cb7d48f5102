# Two commands for a fresh machine: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# pip's notes about this machine's optional local package mirrors are noise
QUIET_PIP = 2>&1 | { grep -v 'WARNING: Location' || true; }
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
PYTEST_ARGS ?= -n 2

.PHONY: install services demo test lint format stop bench clean checkov-venv system-deps tf-schema tf-check

install: $(VENV)/.stamp

# development and tests: the runtime requirements and the tools (requirements-dev.txt
# includes requirements.txt); production images and function sources install runtime only
$(VENV)/.stamp: requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints.txt $(QUIET_PIP)
	# the repository root on sys.path: `import abbanoa`, `import api` from anywhere
	$(PY) -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "abbanoa-repo.pth").write_text("$(CURDIR)\n")'
	touch $@

services: install
	local/services.sh up

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: services lint tf-check checkov-venv system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

# The Google provider's schema from the npm package of its CDKTF bindings (version pinned
# in tests/infra/tfschema.py), downloaded once and cached as JSON under .local/tfschema/
tf-schema: install
	$(PY) -m tests.infra.tfschema

# Offline validation of every .tf under terraform/ against that schema (tests/infra/tfcheck.py)
tf-check: tf-schema
	$(PY) -m tests.infra.tfcheck terraform

# Debian packages the tests need (Chromium for the dashboard's end-to-end test)
system-deps:
	local/system-deps.sh

# checkov (tests/infra) in its own venv: its pins clash with the app's (requirements-checkov.txt)
checkov-venv:
	PYTHON=$(PYTHON) scripts/checkov-venv.sh

demo: services
	local/demo.sh

stop:
	local/services.sh down

bench: services
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .venv-bq .venv-checkov .local .pytest_cache .ruff_cache
