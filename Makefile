# logsieve: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Two installs into the same venv: what running needs (the gateway with PostgreSQL's driver),
# and what tests, checks and benches need on top (the dev extra and the client package).
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed-dev
CONFIG ?= config/gateway.yaml
LINTED := gateway viewer tests bench demo testkit client
# The batch stage's modules mypyc compiles (their list: gateway/pipeline/native.py), rebuilt in
# place whenever one's source is newer than the last build: an edit never runs an old build.
# LOGSIEVE_COMPILE=0 removes them instead (pure Python, the same results).
NATIVE_SOURCES := $(shell $(PYTHON) gateway/pipeline/native.py)
ifeq ($(LOGSIEVE_COMPILE),0)
NATIVE := native-off
NATIVE_BUILT :=
else
NATIVE := $(VENV)/.built-native
# an install compiles them: touched with the install's stamps
NATIVE_BUILT := $(NATIVE)
endif

.PHONY: run test test-image check proto reference bench soak demo clean native-off

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml setup.py | $(PY)
	$(PY) -m pip install --quiet -e '.[postgres]'
	touch $(RUN_STAMP) $(NATIVE_BUILT)

# The dev extra holds the postgres one: a dev install is also a run install.
$(STAMP): pyproject.toml setup.py client/pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]' -e ./client
	touch $(STAMP) $(RUN_STAMP) $(NATIVE_BUILT)

# A dev install has mypyc (the dev extra's mypy): it compiles in place, a few seconds when only
# one module changed. A run install has not: pip builds them again with the pinned mypy.
$(VENV)/.built-native: $(NATIVE_SOURCES) gateway/pipeline/native.py setup.py | $(RUN_STAMP)
	if $(PY) -c 'import mypyc' 2>/dev/null; then $(PY) setup.py --quiet build_ext --inplace; \
	else $(PY) -m pip install --quiet --no-deps -e .; fi
	touch $@

native-off:
	$(PYTHON) gateway/pipeline/native.py clean
	rm -f $(VENV)/.built-native

run: $(RUN_STAMP) $(NATIVE)
	mkdir -p data
	$(VENV)/bin/logsieve run --config $(CONFIG)

# axe-core: the accessibility checks of the live page's browser tests (a dev-only npm package).
AXE := testkit/node_modules/axe-core/axe.min.js
$(AXE): testkit/package.json testkit/package-lock.json
	npm ci --prefix testkit --no-audit --no-fund --loglevel=error
	touch $(AXE)

test: $(STAMP) $(NATIVE) $(AXE)
	$(PY) -m pytest -q

# The container image built with podman and run in compose.yaml's layout (tests/deploy/test_image.py):
# about 10.5 minutes from nothing (a Debian base made with mmdebstrap, then the build), 1-2 once cached.
test-image: $(STAMP)
	command -v podman >/dev/null 2>&1 && command -v mmdebstrap >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc slirp4netns mmdebstrap >/dev/null)
	LOGSIEVE_IMAGE_TEST=1 $(PY) -m pytest -q -n 0 tests/deploy/test_image.py

check: $(STAMP) $(NATIVE)
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy gateway viewer bench demo testkit client

# Regenerates the committed Python code of proto/ (needs the dev extras).
proto: $(STAMP)
	$(PY) -m grpc_tools.protoc -Iproto --python_out=proto --pyi_out=proto proto/logsieve/v1/*.proto

# Rewrites the configuration reference (README.md, docs/configuration.md) from the config
# models; tests/config/test_reference.py fails while either is out of date.
reference: $(STAMP)
	$(PY) -m gateway.config.reference

# h2load (Debian's nghttp2-client) drives the small-request rows; without it (no root, no
# apt) those rows fall back to Python clients and say so.
# BENCH_ARGS: e.g. "--only budget-high" for a row the default run leaves out
bench: $(STAMP) $(NATIVE)
	command -v h2load >/dev/null 2>&1 || apt-get install -y -qq nghttp2-client >/dev/null 2>&1 \
		|| echo "h2load not installed: small requests use Python clients"
	$(PY) -m bench $(BENCH_ARGS)

# 30 minutes of steady load with trouble around it (not part of `make test` or `make bench`):
# figures to docs/soak.md. SOAK_ARGS="--minutes 5 --window-minutes 1" for a shorter run.
soak: $(STAMP) $(NATIVE)
	$(PY) -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache build
	$(PYTHON) gateway/pipeline/native.py clean

# The gateway and a sample shop that logs to it (server and browser) and makes traffic.
# Open http://127.0.0.1:8000/ (the shop) and http://127.0.0.1:8080/logs (the live page).
demo: $(STAMP) $(NATIVE)
	mkdir -p data
	$(VENV)/bin/logsieve run --config config/demo.yaml & gateway=$$!; \
	trap 'kill $$gateway 2>/dev/null' EXIT INT TERM; \
	$(PY) -m demo.shop
