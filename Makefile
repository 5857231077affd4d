# Two commands for a newcomer: `make run` and `make test`. Everything else is for the team.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint format i18n bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint]'
	@rm -f $(VENV)/.installed-*
	@touch $@

run: $(STAMP)
	$(PY) -m bot run

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy bot handlers storage
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

i18n: $(STAMP)
	$(PY) -m bot.catalog locales/messages.pot  # literal ids (-k _ t say button), dotted literals, ids built from tables
	$(VENV)/bin/pybabel update --no-fuzzy-matching --ignore-obsolete --no-wrap -i locales/messages.pot -d locales -D messages

bench: $(STAMP)
	$(PY) -m bench; normal=$$?; $(PY) -m bench --users 300 --think 0 --saturation; saturated=$$?; \
		exit $$((normal || saturated))

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
