"""Shared fixtures: the project root, one strict book build per test session, a headless Chromium."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "autograder"))  # dropout_checks, as the notebook imports it


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Build the book from a clean state with the README's command; return the HTML folder."""
    out = tmp_path_factory.mktemp("book")
    result = subprocess.run(
        ["make", "--no-print-directory", "book", f"BOOK_OUT={out}"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, f"strict book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    return out / "_build" / "html"


def nbgrader(*args, cwd):
    """Run an nbgrader command as an instructor would; fail the test if it fails or ignores its config."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # nbgrader runs alembic
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env={**os.environ, "PATH": path},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout[-6000:]}"
    assert "Exception while loading config file" not in result.stdout, result.stdout[-6000:]


@pytest.fixture
def course(tmp_path):
    """A copy of the course (config and solutions, links resolved) with the exercise generated, as `make exercises`
    does: by nbgrader, then translated into Korean."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    nbgrader("generate_assignment", "dropout", cwd=tmp_path)
    released = tmp_path / "exercises" / "dropout"
    subprocess.run([sys.executable, "-m", "autograder.translation", "translate", released / "dropout.ipynb",
                    ROOT / "locales" / "ko" / "LC_MESSAGES" / "exercise" / "dropout.po", "ko",
                    released / "ko" / "dropout.ipynb"], cwd=ROOT, check=True)
    return tmp_path


# As root with no network: no sandbox, and none of Chromium's own calls to Google's hosts.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium():
    path = shutil.which("chromium")
    if path is None:
        message = "Chromium is missing, so the browser tests cannot run: install it with `apt-get install chromium`."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser(chromium):
    """Debian's Chromium, headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
