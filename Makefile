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

.PHONY: venv book book-fonts translations test system-packages exercises lock clean

$(UV):
	@PATH='$(CALLER_PATH)' $(PYTHON) -m pip install -qq --disable-pip-version-check --target .uv uv==$(UV_VERSION) \
	  || { echo "Could not install uv with $(PYTHON)'s pip (Debian/Ubuntu: sudo apt-get install python3-pip)"; exit 1; }

## venv: make .venv exactly uv.lock for $(PYTHON) (a no-op in well under a second when it already is)
# (by its full path: uv would take a bare `python3` to mean any Python 3, and keep a .venv of another.)
venv: $(UV)
	@exe=$$(PATH='$(CALLER_PATH)' $(PYTHON) -c 'import sys; print(sys.executable)' 2>/dev/null) \
	  || { echo "No Python '$(PYTHON)' found: give one with PYTHON=..., e.g. make test PYTHON=python3.12"; exit 1; }; \
	PATH='$(CALLER_PATH)' $(UV) sync --locked --quiet --python "$$exe" && $(MAKE) --no-print-directory --silent $(BYTECODE)

# The packages' bytecode, compiled once per lock (uv's --compile-bytecode would redo all of it at every sync):
# a confined kernel can write none, and without it compiles ipykernel, IPython and NumPy again at each start.
# (A few packages ship files that are not Python 3 modules, such as templates: those stay uncompiled.)
BYTECODE := $(VENV)/.bytecode-compiled
$(BYTECODE): uv.lock
	@$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null || true
	@touch $@

## book: build both editions strictly (warnings and execution errors fail): English in _build/html/,
## Korean in _build/html/ko/ (a second build with language ko, from _config.yml and locales/ko)
KO_OUT := $(BOOK_OUT)/_build/ko
# The chapters' arrays are small: BLAS threads only fight over the cores (one training run of the
# regularisation chapter on a busy 2-core machine: 7.6 s with one thread, 43 s with the default).
BOOK_ENV := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
book: venv book-fonts
	$(BOOK_ENV) $(BIN)/jupyter-book build . --path-output $(BOOK_OUT) -W -n --keep-going
	$(BIN)/python book/_ext/edition_config.py ko $(KO_OUT)/_build/.jupyter_cache > $(BOOK_OUT)/_build/_config.ko.yml
	$(BOOK_ENV) $(BIN)/jupyter-book build . --config $(BOOK_OUT)/_build/_config.ko.yml --path-output $(KO_OUT) -W -n --keep-going
	rm -rf $(BOOK_OUT)/_build/html/ko && cp -R $(KO_OUT)/_build/html $(BOOK_OUT)/_build/html/ko
	@echo "The book: $(abspath $(BOOK_OUT))/_build/html/index.html (in Korean: _build/html/ko/index.html)"

## translations: extract the English messages (Sphinx gettext for the book, autograder.translation for the
## exercise notebook and its feedback page) and merge them into locales/ko/*.po
## (new messages empty, changed ones fuzzy); then translate what tests/test_translations.py lists
POT_OUT := $(BOOK_OUT)/_build/catalogues
translations: venv
	mkdir -p $(POT_OUT)
	$(BIN)/python book/_ext/edition_config.py en $(BOOK_OUT)/_build/.jupyter_cache > $(POT_OUT)/_config.yml
	$(BOOK_ENV) $(BIN)/jupyter-book build . --config $(POT_OUT)/_config.yml --path-output $(POT_OUT) --builder custom --custom-builder gettext
	$(BIN)/python -m autograder.translation template exercises/dropout/dropout.ipynb $(POT_OUT)/_build/gettext/exercise/dropout.pot
	$(BIN)/sphinx-intl update --pot-dir $(POT_OUT)/_build/gettext --locale-dir locales --language ko

## test: run the whole test suite (installs the Debian packages it needs when it can)
test: venv system-packages
	$(BIN)/python -m pytest

# Debian packages, by the command (or file) each provides: Chromium for the browser tests, bubblewrap to
# confine student code when grading, a Korean font for the Korean edition's figures.
BOOK_FONTS := /usr/share/fonts/truetype/nanum/NanumGothic.ttf:fonts-nanum
SYSTEM_PACKAGES := chromium:chromium bwrap:bubblewrap $(BOOK_FONTS)
system-packages:
	@missing="$(foreach p,$(SYSTEM_PACKAGES),$$({ command -v $(firstword $(subst :, ,$(p))) || test -e $(firstword $(subst :, ,$(p))); } >/dev/null || echo $(lastword $(subst :, ,$(p)))))"; \
	if [ -n "$$(echo $$missing)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$(echo $$missing); \
	  else \
	    echo "Missing Debian packages (need root to install): sudo apt-get install $$(echo $$missing)"; \
	  fi; \
	fi

book-fonts:
	@$(MAKE) --no-print-directory system-packages SYSTEM_PACKAGES=$(BOOK_FONTS)

## exercises: regenerate the student version in exercises/ from solutions/ (nbgrader), and its Korean
## translation in exercises/dropout/ko/ (the catalogue locales/ko/LC_MESSAGES/exercise/dropout.po)
exercises: venv
	nbgrader generate_assignment dropout --force
	$(BIN)/python -m autograder.translation translate exercises/dropout/dropout.ipynb \
	  locales/ko/LC_MESSAGES/exercise/dropout.po ko exercises/dropout/ko/dropout.ipynb

## lock: re-resolve the ranges of pyproject.toml into uv.lock, for every supported Python (then make test)
lock: $(UV)
	PATH='$(CALLER_PATH)' $(UV) lock --upgrade --python $(PYTHON)

clean:
	rm -rf _build $(VENV) .uv
