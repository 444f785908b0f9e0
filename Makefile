# logsieve: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONFIG ?= config/gateway.yaml

.PHONY: run test check proto bench soak demo clean

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
	$(VENV)/bin/ruff check gateway viewer tests bench demo testkit
	$(VENV)/bin/ruff format --check gateway viewer tests bench demo testkit
	$(VENV)/bin/mypy gateway viewer bench demo testkit

# Regenerates the committed Python code of proto/ (needs the dev extras).
proto: $(STAMP)
	$(PY) -m grpc_tools.protoc -Iproto --python_out=proto --pyi_out=proto proto/logsieve/v1/*.proto

# h2load (Debian's nghttp2-client) drives the small-request rows; without it (no root, no
# apt) those rows fall back to Python clients and say so.
bench: $(STAMP)
	command -v h2load >/dev/null 2>&1 || apt-get install -y -qq nghttp2-client >/dev/null 2>&1 \
		|| echo "h2load not installed: small requests use Python clients"
	$(PY) -m bench

# 30 minutes of steady load with trouble around it (not part of `make test` or `make bench`):
# figures to docs/soak.md. SOAK_ARGS="--minutes 5 --window-minutes 1" for a shorter run.
soak: $(STAMP)
	$(PY) -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache

# The gateway and a sample shop that logs to it (server and browser) and makes traffic.
# Open http://127.0.0.1:8000/ (the shop) and http://127.0.0.1:8080/logs (the live page).
demo: $(STAMP)
	mkdir -p data
	$(VENV)/bin/logsieve run --config config/demo.yaml & gateway=$$!; \
	trap 'kill $$gateway 2>/dev/null' EXIT INT TERM; \
	$(PY) -m demo.shop
