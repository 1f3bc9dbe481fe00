# Two commands for a new user: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install demo test lint typecheck bench clean i18n browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# The UI and CLI catalogues, compiled once here rather than at every start of a process.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard src/ctop_node/locales/*/LC_MESSAGES/ctop.po))

src/ctop_node/locales/%/LC_MESSAGES/ctop.mo: src/ctop_node/locales/%/LC_MESSAGES/ctop.po | $(STAMP)
	$(BIN)/python -c 'import sys; from ctop_node.i18n import compile_catalogue; compile_catalogue(sys.argv[1])' $<

install: $(STAMP) $(CATALOGUES)

# Two nodes (KZ, CN) on loopback exchange sample trains online and by smart lock, report, stop.
# DEMO_ARGS= keeps them running (Ctrl-C to stop).
DEMO_ARGS ?= --once --lock-demo
demo: install
	$(BIN)/ctop-node demo $(DEMO_ARGS)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy
	$(BIN)/mypy --strict tests bench

# The UI's browser tests drive Debian's Chromium through chromedriver (a CJK font so that
# the Chinese screenshots show characters). Installed only when missing; needs root (CI is).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || ! fc-list :lang=zh | grep -q . ; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends \
			chromium chromium-driver fonts-wqy-microhei; \
	fi

test: install lint typecheck browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info

# Refresh the message template and merge it into the ru/kk/zh catalogues (then translate).
i18n: install
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 --no-location --omit-header \
		-o src/ctop_node/locales/ctop.pot .
	for l in ru kk zh; do $(BIN)/pybabel update --no-fuzzy-matching --omit-header \
		-i src/ctop_node/locales/ctop.pot -d src/ctop_node/locales -D ctop -l $$l; done
