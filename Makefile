# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv from pins.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv demo test lint unit bench mutation clean

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest -q

# make demo SERVE=0: stop before serving the dashboard (scripts and CI)
SERVE ?= 1
demo: $(STAMP)
	SERVE=$(SERVE) bash scripts/demo.sh

bench: $(STAMP)
	$(PY) bench/fleet_import.py
	$(PY) bench/allocation_plan.py
	$(PY) bench/k8s_export.py
	$(PY) bench/startup.py
	$(PY) bench/hostile_input.py
	$(PY) bench/telemetry_parse.py
	$(PY) bench/telemetry_simulate.py
	$(PY) bench/metering.py
	$(PY) bench/risk.py
	$(PY) bench/api.py

# Mutation testing of the domain rules (docs/MUTATION.md); not part of `make test`.
# make mutation MODULES="neocloud.domain.kernel.money src/neocloud/domain/billing/periods.py"
MODULES ?=
MUTATION_THRESHOLD ?= 90
MUTATION_JOBS ?= 2
mutation: $(STAMP)
	$(PY) scripts/mutation_report.py --run --jobs $(MUTATION_JOBS) \
		--threshold $(MUTATION_THRESHOLD) $(MODULES)

clean:
	rm -rf $(VENV) mutants .demo .pytest_cache .mypy_cache .ruff_cache
