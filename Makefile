# make run   — install, initialise the embedded SQLite database, create a first admin, start
# make test  — install, start PostgreSQL and MariaDB if needed, run the suite on all three

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= development.ini
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test test-sqlite lint format bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install postal with its test tools

run: install ## Initialise SQLite, create a first admin if none, start web + SMTP + worker
	$(BIN)/postal -c $(CONFIG) initialize
	$(BIN)/postal -c $(CONFIG) ensure-admin
	$(BIN)/postal -c $(CONFIG) run

test: install ## Run the whole suite on SQLite, PostgreSQL and MariaDB
	POSTAL_TEST_DATABASES="$$(scripts/test-services)" $(BIN)/python -m pytest $(PYTEST_ARGS)

test-sqlite: install ## Run the suite on SQLite only (no services needed)
	POSTAL_TEST_DATABASES=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install ## ruff check and format check
	$(BIN)/ruff check postal plugins tests alembic bench
	$(BIN)/ruff format --check postal plugins tests alembic bench

format: install ## Format the code with ruff
	$(BIN)/ruff check --fix postal plugins tests alembic bench
	$(BIN)/ruff format postal plugins tests alembic bench

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var .pytest_cache
