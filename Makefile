# The README's commands. Each sets itself up on a fresh machine (Python 3.11 and make are all it needs).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: setup run demo test lint typecheck browser promtool java bench openapi clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt clients/python/pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "fairprobe needs Python 3.11, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]" -e clients/python
	touch $(STAMP)

## Serve on $(HOST):$(PORT) with the default settings (override with FAIRPROBE_* variables).
## For local demos it opens loopback (127.0.0.1) as a model target; `make run DEMO_TARGETS=` keeps it closed.
DEMO_TARGETS ?= 127.0.0.1/32
run: setup
	@echo "fairprobe: local demo: model endpoints on $(DEMO_TARGETS) are allowed (FAIRPROBE_ALLOWED_TARGETS); the service refuses loopback and private targets by default"
	FAIRPROBE_ALLOWED_TARGETS=$${FAIRPROBE_ALLOWED_TARGETS:-$(DEMO_TARGETS)} FAIRPROBE_BIND=$(HOST):$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py "fairprobe:create_app()"

## The service and real models to probe (Adult, German credit) on loopback: every README example runs
## against it. Ctrl-C stops both.
MODELS_PORT ?= 5000
demo: setup
	$(BIN)/python -m demo --host $(HOST) --port $(PORT) --models-port $(MODELS_PORT)

## Lint, type-check, then the whole test suite (the browser tests need chromium, the ops tests promtool, the
## PySpark tests a Java runtime: each installed when missing).
test: setup lint typecheck browser promtool java
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check service clients tests benchmarks openapi demo

typecheck: setup
	$(BIN)/mypy

browser:
	@scripts/install-chromium.sh

promtool:
	@scripts/install-promtool.sh

java:
	@scripts/apt-install.sh java default-jre-headless JAVA_HOME "the PySpark tests"

bench: setup
	$(BIN)/python benchmarks/bench_audit.py
	$(BIN)/python benchmarks/bench_memory.py
	$(BIN)/python benchmarks/bench_probes.py
	$(BIN)/python benchmarks/bench_discrimination.py
	$(BIN)/python benchmarks/bench_decisions.py
	$(BIN)/python benchmarks/bench_diagnostics.py
	$(BIN)/python benchmarks/bench_outputs.py
	$(BIN)/python benchmarks/bench_windows.py

## Regenerate openapi/openapi.yaml from the schemas (a test fails when it drifts).
openapi: setup
	$(BIN)/python openapi/generate.py

clean:
	rm -rf $(VENV)
