# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test test-kafka test-unit test-integration test-e2e schemas run clean system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/claims-dispatch demo --summary-json .claims-dispatch/demo-summary.json

run: $(STAMP)
	$(BIN)/claims-dispatch run

# The Debian packages the tests use (kcat, chromium, prometheus, postgresql), installed when missing; when
# not root and no sudo, it says what to run and stops.
system-packages:
	bash infra/dev/system-packages.sh

# Every suite on Tansu, then the suites on real parts again on Apache Kafka (a three-node cluster for the
# fault drills; its jars resolved by Maven on first use): the same tests, CLAIMS_BROKER their parameter.
test: system-packages $(STAMP)
	$(BIN)/pytest -q tests
	CLAIMS_BROKER=kafka $(BIN)/pytest -q tests/integration tests/e2e tests/faults

test-kafka: system-packages $(STAMP)
	CLAIMS_BROKER=kafka $(BIN)/pytest -q tests/integration tests/e2e tests/faults

test-unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

test-integration: system-packages $(STAMP)
	$(BIN)/pytest -q tests/integration

test-e2e: system-packages $(STAMP)
	$(BIN)/pytest -q tests/e2e

schemas: $(STAMP)
	$(BIN)/claims-dispatch schemas export --dir schemas

clean:
	rm -rf $(VENV) .claims-dispatch .pytest_cache
