# Two commands for a newcomer: `make run` and `make test`. Both create .venv on first use.
# Another interpreter: make test PYTHON=python3.13 VENV=.venv-3.13
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint format bench lock clean messages

# constraints.txt pins every package (for Python 3.11-3.14) to the versions CI tested; `make lock`
# refreshes it.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## run: embedded PostgreSQL + Redis under .data/, migrations, API and worker on http://127.0.0.1:$${PORT:-8000}
run: install
	$(BIN)/meetup dev

## test: the whole suite against real PostgreSQL and Redis (embedded unless TEST_DATABASE_URL / TEST_REDIS_URL)
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: the benchmarks of bench/README.md on embedded PostgreSQL + Redis (~7 min); writes bench/results/<date>.json
bench: install
	$(BIN)/python -m bench.run

## lock: re-resolve constraints.txt to the newest versions pyproject.toml allows (then run make test)
lock: install
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra embedded --universal \
		--python-version 3.11 --upgrade --quiet -o constraints.txt

clean:
	rm -rf .venv .venv-* .pytest_cache .ruff_cache

# The message catalogs (docs/api.md "Languages"): extract every marked text into
# app/locale/messages.pot, merge it into each language's .po, compile the .mo files (committed:
# the app runs from a clean clone). Translate the new entries of app/locale/ru/.../messages.po,
# then run it again. tests/i18n/test_catalogs.py fails while a catalog is stale.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k N_plural:1,2 --no-location --sort-output \
		--project "Movie Meetup" -o app/locale/messages.pot .
	for lang in en ru; do \
		if [ -f app/locale/$$lang/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update -i app/locale/messages.pot -d app/locale -l $$lang \
				--no-fuzzy-matching --ignore-obsolete; \
		else $(BIN)/pybabel init -i app/locale/messages.pot -d app/locale -l $$lang; fi; \
	done
	$(BIN)/pybabel compile -d app/locale --statistics
