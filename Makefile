# make run   — install, initialise the embedded SQLite database, create a first admin, start
# make test  — install, start PostgreSQL and MariaDB if needed, run the suite on all three

PYTHON ?= python3
# The slowest tests are listed at the end, to keep the suite well under its time budget.
PYTEST_ARGS ?= -n 4 --durations=15
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= development.ini
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test test-sqlite lint format bench bench-smtp bench-dkim bench-send clean \
	chaos scale-out soak

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip 'setuptools>=68,<81' wheel
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install postal with its test tools

run: install ## Initialise SQLite, create a first admin if none, start web + SMTP + worker
	$(BIN)/postal -c $(CONFIG) initialize
	$(BIN)/postal -c $(CONFIG) ensure-admin
	$(BIN)/postal -c $(CONFIG) run

test: install ## Run the whole suite on SQLite, PostgreSQL and MariaDB
	POSTAL_TEST_DATABASES="$$(scripts/test-services)" POSTAL_STRICT_SERVICES=1 \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

test-sqlite: install ## Run the suite on SQLite only (no services needed)
	POSTAL_TEST_DATABASES=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install ## ruff check and format check
	$(BIN)/ruff check postal plugins tests alembic bench
	$(BIN)/ruff format --check postal plugins tests alembic bench

format: install ## Format the code with ruff
	$(BIN)/ruff check --fix postal plugins tests alembic bench
	$(BIN)/ruff format postal plugins tests alembic bench

bench: bench-smtp bench-dkim bench-send ## Run every benchmark (figures and ratios, no asserts)

bench-smtp: install ## SMTP accept rate vs Postfix and bare aiosmtpd (installs postfix if missing)
	$(BIN)/python bench/smtp_accept.py $(BENCH_ARGS)

bench-dkim: install ## DKIM signing rate vs stock dkimpy and raw OpenSSL RSA-2048 (one core)
	$(BIN)/python bench/dkim_sign.py $(BENCH_ARGS)

bench-send: install ## API send -> worker -> DKIM-2048 -> smtp-sink, vs Postfix end to end
	$(BIN)/python -m bench.send_e2e $(BENCH_ARGS)

# Reliability runs (docs/operations.md): each starts PostgreSQL and MariaDB if needed.
DATABASES ?= sqlite postgresql mariadb
SOAK_SECONDS ?= 600
SOAK_DATABASE ?= postgresql
# Short names (whole words) become URLs; full SQLAlchemy URLs pass through unchanged.
DATABASE_URLS = $(patsubst postgresql,postgresql+psycopg://postgres@127.0.0.1:5432/postgres,$\
	$(patsubst mariadb,mysql+pymysql://root@127.0.0.1:3306/mysql?charset=utf8mb4,$(1)))

chaos: install ## SIGKILL workers and SMTP servers under load; lost must be 0 (DATABASES=...)
	scripts/test-services >/dev/null
	$(BIN)/python -m bench.chaos --databases "$(call DATABASE_URLS,$(DATABASES))" $(CHAOS_ARGS)

scale-out: install ## 1, 2, 4 workers + 2 SMTP servers on one database: throughput, no duplicates
	scripts/test-services >/dev/null
	$(BIN)/python -m bench.scale_out --databases "$(call DATABASE_URLS,$(DATABASES))" $(SCALE_ARGS)

soak: install ## Steady load for SOAK_SECONDS (600): flat RSS, bounded latency (SOAK_DATABASE)
	scripts/test-services >/dev/null
	$(BIN)/python -m bench.soak --seconds $(SOAK_SECONDS) --database-url "$(call DATABASE_URLS,$(SOAK_DATABASE))" $(SOAK_ARGS)

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var .pytest_cache
