"""Every other supported Python: set-up from the lock, the strict book build and a grading run, same results.

The suite itself runs on the machine's default Python; these tests repeat the README's commands on the
other versions (`make ... PYTHON=... VENV=...`) and compare what they produce with the default's.
"""

import csv
import subprocess
import sys

import nbformat
import pytest
from bs4 import BeautifulSoup

from conftest import ROOT
from mutants import MUTANTS, patched_answers
from notebook_cells import EXERCISE, SOLUTION, answer_source, nbgrader_meta
from pythons import CURRENT, SUPPORTED, find_python

OTHERS = [version for version in SUPPORTED if version != CURRENT]


@pytest.fixture(scope="module", params=OTHERS)
def other(request, tmp_path_factory):
    """A .venv for that Python, set up from uv.lock by `make venv`: (python, venv, scratch folder)."""
    python = find_python(request.param)
    scratch = tmp_path_factory.mktemp(f"python{request.param}")
    venv = scratch / "venv"
    result = make("venv", python=python, venv=venv)
    assert result.returncode == 0, f"set-up from uv.lock failed on Python {request.param}:\n{result.stdout[-4000:]}"
    version = subprocess.run([venv / "bin" / "python", "-V"], capture_output=True, text=True).stdout
    assert version.startswith(f"Python {request.param}."), version
    return python, venv, scratch


def make(*args, python, venv):
    return subprocess.run(["make", "--no-print-directory", *args, f"PYTHON={python}", f"VENV={venv}"],
                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def page_texts(html):
    """Each page's article as a reader sees it: prose, glued numbers, tables, alt texts."""
    texts = {}
    for page in sorted(html.rglob("*.html")):
        article = BeautifulSoup(page.read_text(), "html.parser").find("article")
        if article is not None:
            alts = [img.get("alt", "") for img in article.find_all("img")]
            texts[page.relative_to(html).as_posix()] = (article.get_text(" ", strip=True), alts)
    return texts


def test_strict_book_build_reads_the_same(other, built_book):
    python, venv, scratch = other
    result = make("book", f"BOOK_OUT={scratch}", python=python, venv=venv)
    assert result.returncode == 0, f"strict book build failed with {python}:\n{result.stdout[-6000:]}"
    theirs, ours = page_texts(scratch / "_build" / "html"), page_texts(built_book)
    assert "book/intro.html" in ours and theirs.keys() == ours.keys()
    differing = [page for page in ours if theirs[page] != ours[page]]
    assert not differing, f"pages that read differently on {python} than on Python {CURRENT}: {differing}"


def submission(answers):
    """The master notebook with some answer cells replaced, as a student would submit it."""
    nb = nbformat.read(SOLUTION, as_version=4)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The solution, the stubs and every mutant, as a flat folder of <student>.ipynb."""
    folder = tmp_path_factory.mktemp("batch")
    nbformat.write(submission({}), folder / "solution.ipynb")
    nbformat.write(nbformat.read(EXERCISE, as_version=4), folder / "stubs.ipynb")
    for number, patches in enumerate(MUTANTS.values()):
        nbformat.write(submission(patched_answers(patches, answer_source)), folder / f"mutant{number:02d}.ipynb")
    return folder


def grades(python, batch, out):
    result = subprocess.run([python, "-m", "autograder", "grade", str(batch), "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"grading with {python} failed:\n{result.stderr[-4000:]}"
    with open(out / "grades.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def default_grades(batch, tmp_path_factory):
    return grades(sys.executable, batch, tmp_path_factory.mktemp("graded-default"))


def test_grading_gives_the_same_grades(other, batch, default_grades):
    python, venv, scratch = other
    theirs = grades(venv / "bin" / "python", batch, scratch / "graded")
    assert len(theirs) == len(default_grades) and theirs == default_grades
    assert any(float(row["score"]) < float(row["max_score"]) for row in theirs)  # the mutants lost points
