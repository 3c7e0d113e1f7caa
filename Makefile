# The two commands a newcomer needs: `make chat` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: chat test test-fast lint bench install lock clean

# Exact versions from the lock (hash-checked), then the project itself without resolving again.
$(STAMP): pyproject.toml requirements/lock-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r requirements/lock-test.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m bot.i18n >/dev/null
	touch $(STAMP)

install: $(STAMP)

## Chat with Abdi in this terminal: SQLite, in-memory state, the fictional demo office.
chat: $(STAMP)
	$(BIN)/python -m bot.i18n >/dev/null
	$(BIN)/abdi chat --demo $(ARGS)

## Lint and type-check, then every test (PostgreSQL and Redis on 127.0.0.1 are used when they run),
## spread over pytest-xdist workers; ARGS="-n 0" runs them in this one process.
TEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/python -m bot.i18n >/dev/null
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup $(ARGS)

## Lint and type-check, then the unit tier alone (pure rules: no database, no chat, no process).
test-fast: $(STAMP)
	$(BIN)/python -m bot.i18n >/dev/null
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest tests/unit $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

## Every benchmark, one after another (not part of the test run; PostgreSQL on 127.0.0.1;
## about an hour on 2 cores). bench/README.md says how to run one alone.
bench: $(STAMP)
	$(BIN)/python -m bench.telegram_throughput $(ARGS)
	$(BIN)/python -m bench.dispatcher_cost
	$(BIN)/python -m bench.whatsapp_throughput
	$(BIN)/python -m bench.broadcast
	$(BIN)/python -m bench.standings
	$(BIN)/python -m bench.four_in_one
	$(BIN)/python -m bench.memory
	$(BIN)/python -m bench.web_console
	$(BIN)/python -m bench.roster_page
	$(BIN)/python -m bench.console_periods
	$(BIN)/python -m bench.guidance_quality

## Re-lock after changing a dependency in pyproject.toml: runtime (the container) and with tests.
LOCK := $(BIN)/uv pip compile pyproject.toml --universal --generate-hashes --python-version 3.11 -q
lock: $(STAMP)
	$(BIN)/python -m pip install -q uv
	$(LOCK) -o requirements/lock.txt $(ARGS)
	$(LOCK) --extra test -o requirements/lock-test.txt $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
	find locales -name '*.mo' -delete
