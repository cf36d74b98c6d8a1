# Two entry points for a fresh machine: `make demo` and `make test`.
# The virtual environment is kept between runs and reinstalled only when the
# package metadata changes, so TensorFlow is downloaded once (pip's cache keeps it).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install test demo clean-venv

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,cluster]'
	@rm -f $(VENV)/.installed-*
	@touch $@

test: install
	$(BIN)/course release --check
	$(BIN)/python -m pytest

demo: install
	$(BIN)/course demo

clean-venv:
	rm -rf $(VENV)
