# make run: create .venv, install what running needs, run the flagship scenario (results/ and plots).
# make test: the same environment plus the test dependencies (and Chromium, for the report's browser test),
#   then the whole test suite, one process per core.
# make golden: record the golden hashes of seeded outputs (only when a change of numbers is meant).
# make bench: engines side by side, whole runs as typed (sim run with its defaults), the Sobol benchmark.
# make validation: calibrate on the reference class, ship its posterior, regenerate docs/VALIDATION.md.
# make news: the worked example of updating on the news (Syria from 27 Nov 2024), into docs/UPDATE.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLAGSHIP := scenarios/syria-2024-12-07.toml
REPS ?= 100000
SEED ?= 20241207
WORKERS ?= $(shell nproc 2>/dev/null || echo 1)
PARTICLES ?= 100000

.PHONY: venv test-deps run test golden validation news bench bench-memory bench-sensitivity clean

$(BIN)/sim: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(BIN)/sim

# The test dependencies, installed on top (a stamp of their own, so make run never installs them), and
# Debian's Chromium for the report's browser test (only where it is missing and apt-get is there; as root).
$(VENV)/.test-deps: $(BIN)/sim
	$(BIN)/python -m pip install --quiet -e '.[test]'
	if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "make: warning: Debian's chromium did not install: the browser test of the report will be skipped"; \
	fi
	touch $@

venv: $(BIN)/sim

test-deps: $(VENV)/.test-deps

run: venv
	$(BIN)/sim run $(FLAGSHIP) --reps $(REPS) --seed $(SEED)

test: test-deps
	$(BIN)/python -m pytest -n auto

golden: test-deps
	$(BIN)/python -m tests.golden.cases --write

validation: venv
	$(BIN)/sim calibrate scenarios/calibration/reference-class.toml --particles $(PARTICLES) --seed 1 \
		--workers $(WORKERS) --out results/calibration
	cp results/calibration/posterior.toml scenarios/calibration/posterior.toml
	cp results/calibration/validation.png docs/figures/validation.png
	$(BIN)/python docs/splice.py docs/VALIDATION.md results/calibration

NEWS := scenarios/syria-2024-11-27.toml --observed scenarios/observed/syria-2024.toml --skip daraa --seed 1
news: venv
	$(BIN)/sim update $(NEWS) --out results/syria-2024-11-27/update-syria-2024
	$(BIN)/sim timeline $(NEWS) --out results/syria-2024-11-27/timeline-syria-2024
	cp results/syria-2024-11-27/update-syria-2024/update.png docs/figures/update.png
	cp results/syria-2024-11-27/timeline-syria-2024/timeline.png docs/figures/timeline.png
	$(BIN)/python docs/splice.py docs/UPDATE.md results/syria-2024-11-27/update-syria-2024
	$(BIN)/python docs/splice.py docs/UPDATE.md results/syria-2024-11-27/timeline-syria-2024

bench: venv
	$(BIN)/python benchmarks/engines.py --quick
	$(BIN)/python benchmarks/runs.py
	$(BIN)/python benchmarks/sensitivity.py

bench-memory: venv
	$(BIN)/python benchmarks/memory.py

bench-sensitivity: venv
	$(BIN)/python benchmarks/sensitivity.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis
