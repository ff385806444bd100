"""Korean and English submissions graded together: the same points for the same code, each
student's feedback in their notebook's language, and the language in the report."""

import copy
import html
import re
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest

from autograder import outputs, sandbox
from autograder.notices import NOTICES, pattern
from autograder.translation import NOTICE, catalogue_path, read_catalogue
from mutants import MUTANTS, patched_answers
from notebook_cells import ROOT, answer_source, failed_tests, graded_tests, nbgrader_meta, secret_fragments
from test_grade_command import WRITTEN, grade, rows_of, write_batch
from test_hostile_grading import FORWARD_FOREVER

KOREAN = nbformat.read(ROOT / "exercises" / "dropout" / "ko" / "dropout.ipynb", as_version=4)
ENGLISH = nbformat.read(ROOT / "exercises" / "dropout" / "dropout.ipynb", as_version=4)
HANGUL = re.compile("[\uac00-\ud7a3]")
ENGLISH_LABELS = ["Test cell", "Student's answer", "Score:", "Written response", "(Top)"]


def completed(released, answers):
    """A released notebook with the solution's code, some of it replaced by `answers`, and written answers."""
    nb = copy.deepcopy(released)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution"):
            cell.source = answers.get(grade_id, WRITTEN.get(grade_id) or answer_source(grade_id))
    return nb


STUBS = {nbgrader_meta(c)["grade_id"]: c.source for c in ENGLISH.cells if nbgrader_meta(c).get("solution")}
# student -> (notebook's language, answers): every kind of answer in Korean, and English twins of some
ANSWERS = {"ko_solution": {}, "ko_stubs": STUBS,
           **{f"ko_mutant{i:02d}": patched_answers(mutant, answer_source) for i, mutant in enumerate(MUTANTS.values())}}
TWINS = {"en_solution": "ko_solution", "en_stubs": "ko_stubs", "en_mutant00": "ko_mutant00"}


def expected_points(answers):
    """grade_id -> points of each autograded check, as the checks decide them for these answers."""
    failed = failed_tests(answers=answers)
    return {grade_id: 0 if grade_id in failed else points for grade_id, points in graded_tests().items()}


class Mixed(NamedTuple):
    """The mixed batch, graded once for the tests of this module."""

    out: Path  # the command's OUT
    batch: dict  # student -> submitted notebook text


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    batch = {name: completed(KOREAN, answers) for name, answers in ANSWERS.items()}
    batch.update({name: completed(ENGLISH, ANSWERS[twin]) for name, twin in TWINS.items()})
    root, out = tmp_path_factory.mktemp("mixed") / "submissions", tmp_path_factory.mktemp("graded") / "out"
    write_batch(root, batch)
    result = grade(root, out, "--cell-timeout", "30")  # these rows are about languages, not time: room for a busy machine
    assert result.returncode == 0, result.stderr[-3000:]
    return Mixed(out, {name: nbformat.writes(nb) for name, nb in batch.items()})


def test_each_submission_has_its_language_in_the_grades_and_the_report(graded):
    rows = rows_of(graded.out)
    assert {name: row["language"] for name, row in rows.items()} == {
        name: name[:2] for name in [*ANSWERS, *TWINS]}
    assert f"English {len(TWINS)}, Korean {len(ANSWERS)}" in (graded.out / "report.html").read_text()


@pytest.mark.parametrize("student", sorted(ANSWERS))
def test_korean_code_gets_the_points_of_the_same_code_in_english(graded, student):
    row = rows_of(graded.out)[student]
    assert row["status"].startswith("graded"), row["status"]
    points = {grade_id: float(row[grade_id]) for grade_id in graded_tests()}
    assert points == expected_points(ANSWERS[student])


def test_english_twins_get_exactly_the_korean_rows(graded):
    rows = rows_of(graded.out)
    for english, korean in TWINS.items():
        differing = {k: (rows[english][k], rows[korean][k]) for k in rows[english]
                     if k not in ("student_id", "language") and rows[english][k] != rows[korean][k]}
        assert not differing, f"{english} and {korean}: {differing}"


def feedback(out, student):
    return (out / "feedback" / student / "dropout.html").read_text()


def test_korean_feedback_is_korean_throughout(graded):
    page = feedback(graded.out, "ko_mutant00")
    assert '<html lang="ko">' in page
    assert "점수" in page and not [label for label in ENGLISH_LABELS if label in page]
    heading = KOREAN.cells[0].source.splitlines()[0].lstrip("# ")
    assert HANGUL.search(heading) and heading in html.unescape(page), "the instructions are not the Korean notebook's"
    failures = re.findall(r"AssertionError: ([^<\n]+)", page)
    assert failures and all(HANGUL.search(message) for message in failures), failures
    assert "자가 점검 20개 중" in page, "the self-check summary did not run in Korean"


def test_english_feedback_in_the_same_batch_is_english(graded):
    page = feedback(graded.out, "en_mutant00")
    assert '<html lang="en">' in page and "Score:" in page and not HANGUL.search(page)


def test_no_feedback_page_shows_hidden_tests_or_solution_code_but_the_students_own(graded):
    secrets = secret_fragments()
    for student, own in graded.batch.items():
        page = feedback(graded.out, student)
        leaked = [s for s in secrets if s in page and s not in own]
        assert "HIDDEN TESTS" not in page and not leaked, f"{student}'s feedback shows: {leaked[:3]}"


def test_the_graders_notices_read_in_the_notebooks_language(tmp_path):
    """A forward pass that never returns and a cell that prints too much: the Korean page says so in Korean."""
    def hostile(released):
        nb = completed(released, {"dropout_forward": FORWARD_FOREVER})
        nb.cells.append(nbformat.v4.new_code_cell("for i in range(20_000):\n    print('x' * 99)"))
        return nb

    root, out = tmp_path / "submissions", tmp_path / "out"
    write_batch(root, {"ko_hostile": hostile(KOREAN), "en_hostile": hostile(ENGLISH)})
    result = grade(root, out, "--cell-timeout", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    korean, english = (html.unescape(feedback(out, student)) for student in ("ko_hostile", "en_hostile"))
    catalogue = read_catalogue(catalogue_path(ROOT / "locales", "ko"), context=NOTICE)
    shown = [notice for notice in NOTICES if pattern(notice).search(english)]
    assert {outputs.CUT_MARK, sandbox.HUNG_IN_CELL, "... Output truncated ..."} <= set(shown), shown
    assert not [notice for notice in NOTICES if pattern(notice).search(korean)]
    for notice in shown:
        found = pattern(notice).search(english)
        assert catalogue[notice].format(**found.groupdict()) in korean, notice
