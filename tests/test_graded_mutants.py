"""Graded by the command, every mutant fails exactly the test cells, with the same messages, as run directly.

The checks call a student's functions in a child of their kernel (autograder.sandbox), many
calls in one exchange (Sandbox.each); run directly (tests/notebook_cells.py), they call them
one by one. Either way, every verdict and every message must be the same (but for the figures
in it: some mutants draw masks without a seed, and so a share of units differs from run to run).
"""

import re

import nbformat

from mutants import ALTERNATIVES, MUTANTS, patched_answers
from notebook_cells import answer_source, failed_tests, nbgrader_meta
from test_grade_command import completed, grade, write_batch


def student_id(name):
    return re.sub(r"\W+", "_", name).strip("_")


def without_figures(failures):
    return {grade_id: re.sub(r"\d+(\.\d+)?", "#", message) for grade_id, message in failures.items()}


def graded_failures(out, student):
    """grade_id -> 'Kind: message' of each failed test cell of the student's autograded notebook."""
    nb = nbformat.read(out / "course" / "autograded" / student / "dropout" / "dropout.ipynb", as_version=4)
    return {nbgrader_meta(cell)["grade_id"]: f"{output.ename}: {output.evalue}"
            for cell in nb.cells if nbgrader_meta(cell).get("grade") and not nbgrader_meta(cell).get("solution")
            for output in cell.get("outputs", []) if output.output_type == "error"}


def test_every_mutant_fails_the_same_cells_with_the_same_messages_when_graded(tmp_path):
    variants = {**MUTANTS, **ALTERNATIVES}
    answers = {student_id(name): patched_answers(patches, answer_source) for name, patches in variants.items()}
    batch = write_batch(tmp_path / "submissions", {student: completed(**changes) for student, changes in answers.items()})
    result = grade(batch, tmp_path / "out")
    assert result.returncode == 0, result.stderr[-3000:]
    for student, changes in answers.items():
        assert without_figures(graded_failures(tmp_path / "out", student)) == without_figures(
            failed_tests(answers=changes)), student
