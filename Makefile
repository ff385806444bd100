# Two commands do all the set-up: `make book` builds the HTML book, `make test` runs every test.
# Both create .venv from the exact pins in requirements.lock when it is missing or stale.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
READY  := $(VENV)/.ready
export PATH := $(abspath $(BIN)):$(PATH)  # nbgrader calls the environment's executables
# Where `make book` writes _build/ (tests build into a temporary folder).
BOOK_OUT ?= .

.PHONY: book test system-packages exercises lock clean

$(READY): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

## book: build the HTML book strictly (warnings and execution errors fail) and print where it is
book: $(READY)
	$(BIN)/jupyter-book build . --path-output $(BOOK_OUT) -W -n --keep-going
	@echo "The book: $(abspath $(BOOK_OUT))/_build/html/index.html"

## test: run the whole test suite (installs the Debian packages it needs when it can)
test: $(READY) system-packages
	$(BIN)/python -m pytest

# Debian packages, by the command each provides: Chromium for the browser tests, bubblewrap to confine
# student code when grading.
SYSTEM_PACKAGES := chromium:chromium bwrap:bubblewrap
system-packages:
	@missing="$(foreach p,$(SYSTEM_PACKAGES),$$(command -v $(firstword $(subst :, ,$(p))) >/dev/null || echo $(lastword $(subst :, ,$(p)))))"; \
	if [ -n "$$(echo $$missing)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$(echo $$missing); \
	  else \
	    echo "Missing Debian packages (need root to install): sudo apt-get install $$(echo $$missing)"; \
	  fi; \
	fi

## exercises: regenerate the student version in exercises/ from solutions/
exercises: $(READY)
	nbgrader generate_assignment dropout --force

## lock: re-resolve the loose ranges of pyproject.toml into exact pins
lock:
	rm -rf .lock-venv build
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check .
	{ echo "# Exact pins for Python 3.11 on Linux; regenerate with: make lock"; \
	  .lock-venv/bin/python -m pip freeze --all --exclude dropout-module; } > requirements.lock
	rm -rf .lock-venv build

clean:
	rm -rf _build $(VENV)
