# The task runner CI mirrors: `make run` and `make test` are the two commands a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PULSE_DATA_DIR ?= $(CURDIR)/data
PULSE_DEMO_SCALE ?= small
PULSE_HOST ?= 127.0.0.1
PULSE_PORT ?= 8050
# PULSE_SIMULATE=0: `make run` serves the lake without the live simulator (etl/simulate.py)
PULSE_SIMULATE ?= 1

.PHONY: install dev system-deps bench-deps node-deps vendor-plotly demo run test bench lint clean

install: $(VENV)/.installed ## runtime dependencies, pinned, into .venv
$(VENV)/.installed: requirements.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $@

dev: $(VENV)/.dev-installed ## test, lint and benchmark extras
$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

system-deps: ## headless Chromium, Redis, nginx (with brotli), Node (for axe-core) and khal (a calendar client) from Debian's packages, for the browser, cache, proxy and feed tests
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v redis-server >/dev/null && command -v npm >/dev/null && command -v khal >/dev/null \
	  && [ -x /usr/sbin/nginx ] && [ -f /usr/lib/nginx/modules/ngx_http_brotli_filter_module.so ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver redis-server \
	    nginx libnginx-mod-http-brotli-filter libnginx-mod-http-brotli-static khal $$(command -v npm >/dev/null || echo nodejs npm) >/dev/null; \
	else echo "system-deps: install chromium, chromium-driver, redis-server, nginx, libnginx-mod-http-brotli-filter, libnginx-mod-http-brotli-static, khal and npm with your package manager" >&2; fi

bench-deps: ## wrk, the HTTP load generator of the serving benchmark, from Debian's packages
	@if command -v wrk >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; \
	else echo "bench-deps: install wrk with your package manager" >&2; fi

node-deps: node_modules/.installed ## axe-core (browser tests) and Lighthouse (benchmarks), pinned in package-lock.json
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

vendor-plotly: install ## re-vendor plotly.js's basic bundle (assets/vendor/) at the installed plotly's plotly.js version, from npm, with V8's compile hint (assets/vendor/README.md)
	v=$$($(BIN)/python -c "from plotly.offline import get_plotlyjs_version as v; print(v())") && tmp=$$(mktemp -d) && \
	trap 'rm -rf $$tmp' EXIT && (cd $$tmp && npm pack --silent plotly.js-basic-dist-min@$$v >/dev/null && tar xzf *.tgz) && \
	rm -f assets/vendor/plotly-basic-*.min.js && \
	(printf '//# allFunctionsCalledOnLoad\n'; cat $$tmp/package/plotly-basic.min.js) > assets/vendor/plotly-basic-$$v.min.js && \
	cp $$tmp/package/LICENSE assets/vendor/plotly.js-LICENSE.txt

demo: install ## (re)build the deterministic demo lake
	$(BIN)/python -m etl demo --scale $(PULSE_DEMO_SCALE)

run: install ## build the demo lake if there is none, then serve http://$(PULSE_HOST):$(PULSE_PORT) beside the simulator
	$(BIN)/python -c "import lake, sys; sys.exit(lake.current_version('service_requests') is None)" || $(BIN)/python -m etl demo --scale $(PULSE_DEMO_SCALE)
ifeq ($(PULSE_SIMULATE),0)
	$(BIN)/gunicorn app:server --config gunicorn.conf.py --bind $(PULSE_HOST):$(PULSE_PORT)
else
	$(BIN)/python -m etl simulate & sim=$$!; trap 'kill $$sim 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn app:server --config gunicorn.conf.py --bind $(PULSE_HOST):$(PULSE_PORT)
endif

test: dev system-deps node-deps ## the whole suite
	$(BIN)/python -m pytest

bench: dev system-deps bench-deps node-deps ## benchmarks; results go to benchmarks/out and docs/benchmarks.md
	$(BIN)/python -m benchmarks

lint: dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
