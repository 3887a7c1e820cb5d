# One entry point for a newcomer: `make run` and `make test` install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_PACKAGES := gcc-mipsel-linux-gnu qemu-user csmith libcsmith-dev chromium
# Numba caches compiled kernels in __pycache__ next to the sources (git-ignored), so the
# first `make test` or `make run` warms the cache that later `zkmips` commands use.
PYTEST_WORKERS ?= 2

.PHONY: setup apt venv node guests test test-all run bench clean ecg-model bench-zkml

setup: apt venv node

# Debian's MIPS cross compiler, qemu-user (the reference VM), csmith (random C programs
# for the VM's differential tests) and chromium (the portal's browser tests drive
# /usr/bin/chromium), installed only when missing.
apt:
	@if ! command -v mipsel-linux-gnu-gcc >/dev/null || ! command -v qemu-mipsel >/dev/null \
		|| ! command -v csmith >/dev/null || ! test -d /usr/include/csmith || ! test -x /usr/bin/chromium; then \
		echo "installing $(APT_PACKAGES)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES); \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

# The portal's browser libraries (package.json: htmx, Chart.js), served from node_modules, and
# anvil (@foundry-rs/anvil, pinned; its platform binary comes as the locked optional package
# @foundry-rs/anvil-<os>-<arch>), the JSON-RPC chain of tests/settlement;
# `npm ci` again whenever package.json or package-lock.json is newer than npm's own record of
# the installed tree (node_modules/.package-lock.json). npm comes from Debian when missing.
node:
	@if test -f package.json; then \
		if ! command -v npm >/dev/null; then \
			echo "installing npm"; \
			SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
			$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm; \
		fi; \
		if ! test -f node_modules/.package-lock.json || test package-lock.json -nt node_modules/.package-lock.json \
			|| test package.json -nt node_modules/.package-lock.json; then \
			npm ci --no-audit --no-fund --loglevel=error; \
		fi; \
		node_modules/.bin/anvil --version >/dev/null || { echo "node_modules/.bin/anvil does not run"; exit 1; }; \
	fi

guests: apt
	$(MAKE) -s -C guests

# The clinic's ECG classifier (docs/clinic-model.md): simulates the ECGs (neurokit2), trains
# and quantises the model, and writes guests/ecg/model/ and guests/ecg/samples/; seeded, so a
# rerun writes the same files. Its packages (the `ecg` extra) only this target installs.
ECG_STAMP := $(VENV)/.installed-ecg
$(ECG_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[ecg]'
	@touch $(ECG_STAMP)

ecg-model: $(ECG_STAMP)
	$(PY) guests/ecg/train.py

# One ECG diagnosis proven by zkMIPS and by ezkl side by side (bench/zkml.py writes
# bench/results/zkml.json). Its packages (the `zkml` extra: ezkl, onnx, onnxruntime) only this
# target installs.
ZKML_STAMP := $(VENV)/.installed-zkml
$(ZKML_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[zkml]'
	@touch $(ZKML_STAMP)

bench-zkml: $(ZKML_STAMP) guests
	$(PY) bench/zkml.py

# Tests marked `serial` restart RabbitMQ: they run alone, after the others.
test: setup guests
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) -m "not slow and not serial"
	$(PY) -m pytest -q -m "serial and not slow"

test-all: setup guests
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) -m "not serial"
	$(PY) -m pytest -q -m "serial"

# The whole stack on embedded defaults (docs/running.md): migrate the database (SQLite in
# var/ unless DATABASE_URL says otherwise), create the demo accounts (var/demo.json), choose
# the broker (the local RabbitMQ, else kombu's filesystem transport) and start the Procfile
# under honcho: portal, settlement worker, beat, one operator worker. Ctrl-C stops it all.
RUN_VAR = $${ZKMIPS_VAR_DIR:-var}
run: export ZKMIPS_FAUCET ?= 1000000
run: export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
run: setup guests
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py market_demo --url http://127.0.0.1:$${PORT:-8000} --env-file $(RUN_VAR)/run.env
	@exec $(VENV)/bin/honcho -f Procfile -e $(RUN_VAR)/run.env start -p $${PORT:-8000}

bench: setup guests
	$(PY) bench/vm.py
	$(PY) bench/stark.py
	$(PY) bench/prove.py
	$(PY) bench/workloads.py
	$(PY) bench/workloads.py --only hashing --distributed --out bench/results/workloads-distributed.json
	$(PY) bench/market.py
	$(PY) bench/gas.py

clean:
	$(MAKE) -s -C guests clean
	rm -rf $(VENV) .pytest_cache
