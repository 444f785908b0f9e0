# logsieve: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONFIG ?= config/gateway.yaml

.PHONY: run test check proto bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	mkdir -p data
	$(VENV)/bin/logsieve run --config $(CONFIG)

test: $(STAMP)
	$(PY) -m pytest -q

check: $(STAMP)
	$(VENV)/bin/ruff check gateway viewer tests bench
	$(VENV)/bin/ruff format --check gateway viewer tests bench
	$(VENV)/bin/mypy gateway viewer bench

# Regenerates the committed Python code of proto/ (needs the dev extras).
proto: $(STAMP)
	$(PY) -m grpc_tools.protoc -Iproto --python_out=proto --pyi_out=proto proto/logsieve/v1/*.proto

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
