# Two commands do all the set-up: `make book` builds the HTML book, `make test` runs every test.
# Both bring .venv to the exact versions of uv.lock (one lock for Python 3.11 to 3.13) before they run.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# uv, pinned, installed from its PyPI wheel with the chosen Python's pip into .uv/ (no other download).
UV_VERSION := 0.13.9
UV         := .uv/bin/uv
# The machine's own Python, never one that uv would download.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
# PYTHON is looked up on the caller's PATH, not in the .venv/bin put first below.
CALLER_PATH := $(PATH)
export PATH := $(abspath $(BIN)):$(PATH)  # nbgrader calls the environment's executables
# Where `make book` writes _build/ (tests build into a temporary folder).
BOOK_OUT ?= .

.PHONY: venv book test system-packages exercises lock clean

$(UV):
	@PATH='$(CALLER_PATH)' $(PYTHON) -m pip install -qq --disable-pip-version-check --target .uv uv==$(UV_VERSION) \
	  || { echo "Could not install uv with $(PYTHON)'s pip (Debian/Ubuntu: sudo apt-get install python3-pip)"; exit 1; }

## venv: make .venv exactly uv.lock for $(PYTHON) (a no-op in well under a second when it already is)
# (by its full path: uv would take a bare `python3` to mean any Python 3, and keep a .venv of another.)
venv: $(UV)
	@exe=$$(PATH='$(CALLER_PATH)' $(PYTHON) -c 'import sys; print(sys.executable)' 2>/dev/null) \
	  || { echo "No Python '$(PYTHON)' found: give one with PYTHON=..., e.g. make test PYTHON=python3.12"; exit 1; }; \
	PATH='$(CALLER_PATH)' $(UV) sync --locked --quiet --python "$$exe"

# One BLAS thread for the book's code: its matrices are small, the same numbers on any number of cores, and
# no spinning threads that slow a busy machine's build past the execution timeout.
book: export OPENBLAS_NUM_THREADS := 1
book: export OMP_NUM_THREADS := 1
## book: build the HTML book strictly (warnings and execution errors fail) and print where it is
book: venv
	$(BIN)/jupyter-book build . --path-output $(BOOK_OUT) -W -n --keep-going
	@echo "The book: $(abspath $(BOOK_OUT))/_build/html/index.html"

## test: run the whole test suite (installs the Debian packages it needs when it can)
test: venv system-packages
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
exercises: venv
	nbgrader generate_assignment dropout --force

## lock: re-resolve the ranges of pyproject.toml into uv.lock, for every supported Python (then make test)
lock: $(UV)
	PATH='$(CALLER_PATH)' $(UV) lock --upgrade --python $(PYTHON)

clean:
	rm -rf _build $(VENV) .uv
