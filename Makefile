# Shoebox: `make run` opens the app, `make test` runs the whole suite.
# Both create .venv on first use and reinstall when pyproject.toml changes.
# `make dist` builds the one-folder bundle dist/shoebox (installer/README.md); `make dist-check` starts it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint dist dist-check clean-venv

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip >/dev/null
	$(PY) -m pip install -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) main.py

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -n 2 --dist loadfile
	$(VENV)/bin/ruff check desktop tests bench main.py
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check desktop tests bench main.py
	$(VENV)/bin/ruff format --check desktop tests bench main.py
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

dist: $(STAMP)
	$(PY) -c "import PyInstaller" 2>/dev/null || $(PY) -m pip install -e '.[dev,dist]'
	$(VENV)/bin/pyinstaller --noconfirm --clean --distpath dist --workpath build installer/shoebox.spec

dist-check:
	dist/shoebox/shoebox --version
	home="$$(mktemp -d)" && SHOEBOX_HOME="$$home" dist/shoebox/shoebox status --json && rm -rf "$$home"

clean-venv:
	rm -rf $(VENV)
