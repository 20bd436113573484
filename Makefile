# Kessai — `make help` lists the targets. The README's two commands are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: help install system-deps test-system-deps run test test-pg lint bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/kessai: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/kessai ## Create .venv and install Kessai with its test tools

# Debian packages the tests drive: Chromium for the console's browser tests (Playwright uses it
# as it is, no browser download), nginx for the documented reverse-proxy setup, and w3m, the
# text browser the hosted payment page must work in without CSS or JavaScript (driven through tmux
# by the tests), and a Japanese font so that Chromium's screenshots of the pages show Japanese.
# systemd-analyze checks the deploy units (deploy/systemd/). Needs root.
SYSTEM_PACKAGES := chromium nginx-light w3m tmux fonts-ipafont-gothic systemd
system-deps: ## Install the Debian packages the tests need (chromium, nginx-light, w3m, tmux, a JP font; as root)
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; fi

run: install ## Run the whole gateway: SQLite under var/, demo merchant, worker in-process (HOST=127.0.0.1 PORT=8080)
	$(BIN)/kessai serve --demo --host $(HOST) --port $(PORT)

# `make test` needs only Python and make. As root on Debian it installs the packages above first (as
# `make system-deps`); anywhere else, or if that fails, the tests that drive them skip and the run
# ends with one line saying which and how to enable them.
test-system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory system-deps || echo "make system-deps failed; the tests that need those packages will skip"; \
	fi

test: install test-system-deps ## Run the tests (SQLite; KESSAI_TEST_DB=postgresql for PostgreSQL)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

test-pg: ## The same tests on PostgreSQL (KESSAI_TEST_DATABASE_URL, default postgres@127.0.0.1:5432/test)
	KESSAI_TEST_DB=postgresql $(MAKE) --no-print-directory test

lint: install ## ruff, format check, mypy --strict, the dependency rule (import-linter)
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)
	$(BIN)/mypy src/kessai
	$(BIN)/lint-imports

bench: install ## Throughput and latency figures: authorisations, notices, console search, hosted page
	$(BIN)/python bench/auth.py
	$(BIN)/python bench/notify.py
	$(BIN)/python bench/console_search.py
	$(BIN)/python bench/link_page.py
	$(BIN)/python bench/driver.py

clean: ## Remove the virtualenv and local state (var/ holds the demo database and keys!)
	rm -rf $(VENV) var
