# Mailwarden. The two commands a newcomer needs: `make demo` and `make test`.
# Every target installs what it needs first (a Python venv in .venv, pinned).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.stamp-install
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
# Python caches compiled bytecode (__pycache__/, git-ignored) unless the environment says not to; a
# machine that says so makes every process the suite starts (two workers, the CLI, the cold-start
# and demo tests) compile the package, the emulator and the tests again: 3-4 s each.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install demo test lint bench openapi synth cdk-install clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# pytest-xdist workers for make test: one per CPU, at least two (the suite waits on threads as well)
WORKERS ?= $(shell python3 -c 'import os; print(max(2, min(4, os.cpu_count() or 2)))')

demo: $(STAMP)
	$(PY) -m local.demo

test: $(STAMP)
	$(PY) -m pytest -q -n $(WORKERS) --dist worksteal

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/mailwarden/python/mailwarden local infra functions app.py bench

bench: $(STAMP)
	$(PY) -m bench.run

node_modules/.bin/cdk: package.json
	npm install --no-audit --no-fund --silent
	touch $@

cdk-install: node_modules/.bin/cdk

# Full synth with the SDK layer bundled locally by pip for arm64 (needs PyPI, not Docker).
openapi: $(STAMP)
	PYTHONPATH=.:layers/mailwarden/python $(PY) -m functions.mail_from_api.openapi

synth: $(STAMP) node_modules/.bin/cdk
	npx cdk synth --quiet

clean:
	rm -rf $(VENV) cdk.out node_modules .pytest_cache .mypy_cache .ruff_cache
