# The two commands of the README: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_ENV := DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/slaportal} \
	CELERY_BROKER_URL=$${TEST_BROKER_URL:-redis://127.0.0.1:6379/15} DEBUG=1
# The tests with the clock about a year and a half ahead: libfaketime moves the clocks of
# pytest and of what it starts (workers, beat, Chromium); PostgreSQL and Redis keep the real
# one, which the code never asks. Its own database and broker: it may run beside `make test`.
# Under libfaketime 0.9.10 a timed wait that nothing ends (Event().wait(t)) lasts the whole
# shift (Python waits with sem_clockwait, which it does not translate), so tests sleep
# instead; redis-server cannot start under it, so tests start theirs without it.
SHIFT ?= +548d
# pytest-xdist processes for the main run, each with its own test database and broker
# database (tests/parallel.py); a test file stays on one of them, with its fixtures.
TEST_WORKERS ?= 2
FAKETIME := faketime -f $(SHIFT)
SHIFTED_ENV := DATABASE_URL=$${SHIFTED_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/slaportal_shifted} \
	CELERY_BROKER_URL=$${SHIFTED_BROKER_URL:-redis://127.0.0.1:6379/14} DEBUG=1

.PHONY: run test test-shifted lint demo clean deploy-check messages

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed

## run: install, migrate, load the demo book and start web, worker and beat (Ctrl-C stops all)
run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py loaddemo
	@echo ""
	@echo "SLA Portal: http://127.0.0.1:8000/  (API: http://127.0.0.1:8000/api/v1/docs/)"
	@echo ""
	$(BIN)/honcho start -f Procfile

## test: lint, checks and the whole suite against real PostgreSQL, Redis and Chromium
test: $(VENV)/.dev-installed
	bin/services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(TEST_ENV) $(BIN)/python manage.py check
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)
	$(TEST_ENV) $(FAKETIME) $(BIN)/python -m pytest -m dates $(PYTEST_ARGS)

## test-shifted: the whole suite with the clock 548 days ahead (e.g. SHIFT=+3y for another date)
test-shifted: $(VENV)/.dev-installed
	bin/services
	$(SHIFTED_ENV) $(FAKETIME) $(BIN)/python -m pytest $(PYTEST_ARGS)

## deploy-check: before a release serves, in its environment (docs/deploy.md): Django's
## security checks with the production settings (DEBUG off unless set), no model change
## without its migration, every migration applied, static files collectable, /healthz's checks
deploy-check: $(VENV)/.installed
	DEBUG=$${DEBUG:-0} $(BIN)/python manage.py check --deploy --tag security --fail-level WARNING
	DEBUG=$${DEBUG:-0} $(BIN)/python manage.py check
	DEBUG=$${DEBUG:-0} $(BIN)/python manage.py makemigrations --check --dry-run
	DEBUG=$${DEBUG:-0} $(BIN)/python manage.py migrate --check
	DEBUG=$${DEBUG:-0} $(BIN)/python manage.py collectstatic --noinput --dry-run -v 0
	DEBUG=$${DEBUG:-0} $(BIN)/python manage.py health_check healthz --no-http

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var

## messages: collect the marked texts into locale/de/LC_MESSAGES/django.po (docs/i18n.md)
messages: $(VENV)/.dev-installed
	$(BIN)/python manage.py makemessages -l de --no-location --ignore='.venv/*' --ignore='tests/*' --ignore='bench/*' --ignore='var/*'
