# Two commands: `make dev` runs the service, `make test` runs every test. Both install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
ASSETS_STAMP := node_modules/.assets-copied
DEPS_STAMP := node_modules/.cache/python-deps/.installed
SDK_STAMP := node_modules/.cache/workers-runtime-sdk/.installed
SIM_PORT ?= 8788
WORKER_PORT ?= 8787
# LOCAL ONLY: the simulator's demo token stands in for the WARMING_TOKEN Worker secret, the FlightDeck
# credential cache warming uses (production: `npx wrangler secret put WARMING_TOKEN`, never a var).
DEV_WARMING_TOKEN ?= dev-token

.PHONY: install dev test lint bench clean browser

install: $(PY_STAMP) $(NODE_STAMP) $(SDK_STAMP) $(DEPS_STAMP) $(ASSETS_STAMP)

$(PY_STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(ASSETS_STAMP): $(NODE_STAMP) scripts/vendor-assets.mjs
	node scripts/vendor-assets.mjs
	touch $@

# The workers SDK wheel pyproject.toml pins, checked against uv.lock, for the local runtime (npm ci empties it).
$(SDK_STAMP): pyproject.toml uv.lock $(NODE_STAMP) $(PY_STAMP)
	PYTHON=$(PY) node runtime/fetch-sdk.mjs
	touch $@

# msgpack for the local runtime: npm's pyodide ships no wheels, so the sdist uv.lock pins (sha256
# checked by pip; runtime/msgpack-requirements.txt, kept equal to uv.lock by a unit test) is built as a
# pure-Python wheel that runtime/python.mjs loads; production vendors Pyodide's own build of it.
$(DEPS_STAMP): runtime/msgpack-requirements.txt $(NODE_STAMP) $(PY_STAMP)
	rm -rf $(@D) && mkdir -p $(@D)
	MSGPACK_PUREPYTHON=1 SOURCE_DATE_EPOCH=315532800 $(PY) -m pip wheel --quiet --disable-pip-version-check \
	  --no-cache-dir --no-deps --no-build-isolation --no-binary msgpack --require-hashes \
	  -r runtime/msgpack-requirements.txt -w $(@D)
	touch $@

lint: install
	$(PY) -m ruff check src tests simulator $(wildcard bench)

# The browser tests drive Debian's chromium (Playwright's own download is not reachable offline).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Chromium: run  sudo apt-get update && sudo apt-get install -y chromium  and make test again"; \
	    exit 1; \
	  fi; }

# The runtime's own tests (its rules checked against wrangler's workerd), the deploy wrangler would
# do (offline, so a broken wrangler.toml fails here), then every Python test.
test: install lint browser
	node --test runtime/smoke/
	@out=$$(WRANGLER_SEND_METRICS=false npx --no-install wrangler deploy --dry-run 2>&1) \
	  || { echo "$$out"; echo "wrangler deploy --dry-run failed"; exit 1; }; \
	  echo "wrangler deploy --dry-run: ok, $$(echo "$$out" | grep -o 'Total ([0-9]* modules)')"
	$(PY) -m pytest

bench: install
	$(PY) bench/run.py $(BENCH_ARGS)

dev: install
	@echo "FlightDeck simulator  http://127.0.0.1:$(SIM_PORT)/api   (token: dev-token)"
	@echo "Worker                http://127.0.0.1:$(WORKER_PORT)    (state in .wrangler/state)"
	@echo "Try:  curl -H 'X-ACE-Token: dev-token' 'http://127.0.0.1:$(WORKER_PORT)/api/timeseries?site=demo-hq&points=acme/demo-hq/ahu-1:supply-air-temp&start_time=2025-11-10T00:00:00Z&end_time=2025-11-10T06:00:00Z'"
	@echo "      curl http://127.0.0.1:$(WORKER_PORT)/api/health"
	@echo "Pages:  http://127.0.0.1:$(WORKER_PORT)/ (operations)  http://127.0.0.1:$(WORKER_PORT)/docs  http://127.0.0.1:$(WORKER_PORT)/openapi.json"
	@trap 'kill 0' INT TERM EXIT; \
	$(PY) -m simulator --host 127.0.0.1 --port $(SIM_PORT) & \
	node runtime/main.mjs --host 127.0.0.1 --port $(WORKER_PORT) --persist .wrangler/state \
	  --var FLIGHTDECK_BASE_URL=http://127.0.0.1:$(SIM_PORT)/api --var WARMING_TOKEN=$(DEV_WARMING_TOKEN) & \
	wait

clean:
	rm -rf $(VENV) node_modules .wrangler .pytest_cache .ruff_cache
