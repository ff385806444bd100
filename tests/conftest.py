"""Shared fixtures: the project root and one strict book build per test session."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
