# The task runner CI mirrors: `make run` and `make test` are the two commands a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PULSE_DATA_DIR ?= $(CURDIR)/data
PULSE_DEMO_SCALE ?= small
PULSE_HOST ?= 127.0.0.1
PULSE_PORT ?= 8050

.PHONY: install dev system-deps demo run test bench lint clean

install: $(VENV)/.installed ## runtime dependencies, pinned, into .venv
$(VENV)/.installed: requirements.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $@

dev: $(VENV)/.dev-installed ## test, lint and benchmark extras
$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

system-deps: ## headless Chromium and Redis from Debian's packages, for the browser and cache tests
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v redis-server >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver redis-server >/dev/null; \
	else echo "system-deps: install chromium, chromium-driver and redis-server with your package manager" >&2; fi

demo: install ## (re)build the deterministic demo lake
	$(BIN)/python -m etl demo --scale $(PULSE_DEMO_SCALE)

run: install ## build the demo lake if there is none, then serve http://$(PULSE_HOST):$(PULSE_PORT)
	test -f $(PULSE_DATA_DIR)/lake/service_requests/CURRENT || $(BIN)/python -m etl demo --scale $(PULSE_DEMO_SCALE)
	$(BIN)/gunicorn app:server --workers 2 --bind $(PULSE_HOST):$(PULSE_PORT) --timeout 60

test: dev system-deps ## the whole suite
	$(BIN)/python -m pytest

bench: dev ## benchmarks; results go to benchmarks/out and docs/benchmarks.md
	$(BIN)/python -m benchmarks

lint: dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
