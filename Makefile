# Two commands do all the set-up: `make book` builds the HTML book, `make test` runs every test.
# Both create .venv from the exact pins in requirements.lock when it is missing or stale.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
READY  := $(VENV)/.ready
export PATH := $(abspath $(BIN)):$(PATH)  # nbgrader calls the environment's executables
# Where `make book` writes _build/ (tests build into a temporary folder).
BOOK_OUT ?= .

.PHONY: book book-fonts translations test system-packages exercises lock clean

$(READY): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

## book: build both editions strictly (warnings and execution errors fail): English in _build/html/,
## Korean in _build/html/ko/ (a second build with language ko, from _config.yml and locales/ko)
KO_OUT := $(BOOK_OUT)/_build/ko
# The chapters' arrays are small: BLAS threads only fight over the cores (one training run of the
# regularisation chapter on a busy 2-core machine: 7.6 s with one thread, 43 s with the default).
BOOK_ENV := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
book: $(READY) book-fonts
	$(BOOK_ENV) $(BIN)/jupyter-book build . --path-output $(BOOK_OUT) -W -n --keep-going
	$(BIN)/python book/_ext/edition_config.py ko $(KO_OUT)/_build/.jupyter_cache > $(BOOK_OUT)/_build/_config.ko.yml
	$(BOOK_ENV) $(BIN)/jupyter-book build . --config $(BOOK_OUT)/_build/_config.ko.yml --path-output $(KO_OUT) -W -n --keep-going
	rm -rf $(BOOK_OUT)/_build/html/ko && cp -R $(KO_OUT)/_build/html $(BOOK_OUT)/_build/html/ko
	@echo "The book: $(abspath $(BOOK_OUT))/_build/html/index.html (in Korean: _build/html/ko/index.html)"

## translations: extract the English messages (Sphinx gettext) and merge them into locales/ko/*.po
## (new messages empty, changed ones fuzzy); then translate what tests/test_translations.py lists
POT_OUT := $(BOOK_OUT)/_build/catalogues
translations: $(READY)
	mkdir -p $(POT_OUT)
	$(BIN)/python book/_ext/edition_config.py en $(BOOK_OUT)/_build/.jupyter_cache > $(POT_OUT)/_config.yml
	$(BOOK_ENV) $(BIN)/jupyter-book build . --config $(POT_OUT)/_config.yml --path-output $(POT_OUT) --builder custom --custom-builder gettext
	$(BIN)/sphinx-intl update --pot-dir $(POT_OUT)/_build/gettext --locale-dir locales --language ko

## test: run the whole test suite (installs the Debian packages it needs when it can)
test: $(READY) system-packages
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
