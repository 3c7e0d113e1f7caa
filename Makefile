# The two commands a newcomer needs: `make chat` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: chat test test-fast lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m bot.i18n >/dev/null
	touch $(STAMP)

install: $(STAMP)

## Chat with Abdi in this terminal: SQLite, in-memory state, the fictional demo office.
chat: $(STAMP)
	$(BIN)/python -m bot.i18n >/dev/null
	$(BIN)/abdi chat --demo $(ARGS)

## Lint and type-check, then every test (PostgreSQL and Redis on 127.0.0.1 are used when they run).
test: $(STAMP)
	$(BIN)/python -m bot.i18n >/dev/null
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest $(ARGS)

## Lint and type-check, then the unit tier alone (pure rules: no database, no chat, no process).
test-fast: $(STAMP)
	$(BIN)/python -m bot.i18n >/dev/null
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest tests/unit $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

## Benchmarks (not part of the test run).
bench: $(STAMP)
	$(BIN)/python -m bench.telegram_throughput $(ARGS)
	$(BIN)/python -m bench.whatsapp_throughput

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
	find locales -name '*.mo' -delete
