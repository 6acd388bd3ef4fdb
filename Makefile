# Two commands that work on a fresh clone with nothing installed:
#   make demo   - create .venv, install skillcircle with its extras, run the Yuexiu demo
#   make test   - same set-up, plus the Debian packages the browser test needs, then pytest
#
# Data: $SKILLCIRCLE_DATA if set, else ../shared/data if present, else `make demo` uses the Yuexiu
# sample shipped inside the package (same figures, offline). `skillcircle demo --online` stays an
# explicit option (downloads the network from OpenStreetMap).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DATA   := $(or $(SKILLCIRCLE_DATA),$(wildcard ../shared/data))
OUT    ?= maps/demo

.PHONY: demo test lint bench browser-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,dask]'
	touch $(STAMP)

demo: $(STAMP)
ifneq ($(DATA),)
	SKILLCIRCLE_DATA=$(abspath $(DATA)) $(BIN)/skillcircle demo --out $(OUT)
else
	$(BIN)/skillcircle demo --sample --out $(OUT)
endif

# Chromium and its driver for the real browser test of the web map (Debian packages).
browser-deps:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
	  echo "chromium: $$(chromium --version 2>/dev/null)"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null; \
	else \
	  echo "warning: cannot install chromium (not root): the browser tests will be skipped"; \
	fi

test: $(STAMP) browser-deps
ifneq ($(DATA),)
	SKILLCIRCLE_DATA=$(abspath $(DATA)) $(BIN)/python -m pytest
else
	$(BIN)/python -m pytest
endif

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy skillcircle

bench: $(STAMP)
	SKILLCIRCLE_DATA=$(abspath $(DATA)) $(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis maps/demo
