# The two commands of the README. Both create .venv and install everything first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: audit test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

audit: $(STAMP)
	$(BIN)/opentrust audit smollm2 --out reports

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) reports .opentrust
