# One entry point for a newcomer: `make run` and `make test` install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_PACKAGES := gcc-mipsel-linux-gnu qemu-user csmith libcsmith-dev
# Numba caches compiled kernels in __pycache__ next to the sources (git-ignored), so the
# first `make test` or `make run` warms the cache that later `zkmips` commands use.
PYTEST_WORKERS ?= 2

.PHONY: setup apt venv guests test test-all run bench clean

setup: apt venv

# Debian's MIPS cross compiler, qemu-user (the reference VM) and csmith (random C programs
# for the VM's differential tests), installed only when missing.
apt:
	@if ! command -v mipsel-linux-gnu-gcc >/dev/null || ! command -v qemu-mipsel >/dev/null \
		|| ! command -v csmith >/dev/null || ! test -d /usr/include/csmith; then \
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

guests: apt
	$(MAKE) -s -C guests

test: setup guests
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) -m "not slow"

test-all: setup guests
	$(PY) -m pytest -q -n $(PYTEST_WORKERS)

run: setup guests
	$(VENV)/bin/zkmips execute guests/build/hello-O2.elf --input guests/hello/input.txt

bench: setup guests
	$(PY) bench/vm.py
	$(PY) bench/stark.py
	$(PY) bench/prove.py
	$(PY) bench/workloads.py
	$(PY) bench/workloads.py --only hashing --distributed --out bench/results/workloads-distributed.json

clean:
	$(MAKE) -s -C guests clean
	rm -rf $(VENV) .pytest_cache
