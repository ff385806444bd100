"""autograder.nbgrader_steps do what nbgrader's own steps do: the same notebook, the same gradebook, the same errors."""

import copy
import shutil
import sqlite3

import nbformat
import pytest
from nbformat.v4 import new_output
from nbgrader.api import Gradebook
from nbgrader.nbgraderformat import MetadataValidator as NbgraderValidator
from nbgrader.preprocessors import GetGrades, OverwriteCells, OverwriteKernelspec, SaveAutoGrades
from nbgrader.utils import is_grade, is_locked, is_solution

from autograder import grading, nbgrader_steps, worker
from autograder.nbgrader_steps import (GetGradesAtOnce, OverwriteCellsKnown, OverwriteKernelspecKnown,
                                       SaveAutoGradesOnce)

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's own SQLAlchemy usage

NBGRADERS = [OverwriteKernelspec, OverwriteCells, SaveAutoGrades, GetGrades]
OURS = [OverwriteKernelspecKnown, OverwriteCellsKnown, SaveAutoGradesOnce, GetGradesAtOnce]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    folder = tmp_path_factory.mktemp("steps") / "course"
    released, _ = grading.create_course(folder, worker.Limits())
    return folder, released["en"]


def tampered(released):
    """A submission that changed what nbgrader restores, with a failed test, a passed one and an answer."""
    nb = copy.deepcopy(released)
    nb.metadata.kernelspec = {"name": "elsewhere", "display_name": "Elsewhere", "language": "python"}
    tests = [cell for cell in nb.cells if is_grade(cell) and not is_solution(cell)]
    locked = [cell for cell in nb.cells if is_locked(cell) and not is_grade(cell)]
    tests[0].source = "pass  # the check, deleted"
    tests[0].outputs = [new_output("error", ename="AssertionError", evalue="no", traceback=["no"])]
    tests[1].metadata.nbgrader.points = 1000
    tests[1].outputs = [new_output("stream", name="stdout", text="fine\n")]
    locked[0].source = "an instruction, rewritten"
    next(cell for cell in nb.cells if is_solution(cell)).source = "def dropout_forward(x, p):\n    return x\n"
    return nb


def run(steps, nb, folder, name):
    """The steps, in turn, on nb for student s1, in a copy of the course's gradebook; (notebook, resources, rows)."""
    db = folder.parent / f"{name}.db"
    shutil.copyfile(folder / "gradebook.db", db)
    url = f"sqlite:///{db}"
    with Gradebook(url) as gradebook:
        gradebook.update_or_create_student("s1")
        gradebook.update_or_create_submission("dropout", "s1")
    resources = {"nbgrader": {"notebook": "dropout", "assignment": "dropout", "student": "s1", "db_url": url}}
    for step in steps:
        nb, resources = step().preprocess(nb, resources)
    nbgrader_steps.forget_course(url)
    del resources["nbgrader"]["db_url"]
    with sqlite3.connect(db) as connection:
        rows = {table: sorted(connection.execute(
            f"SELECT c.name, {columns} FROM {table} t JOIN base_cell c ON c.id = t.cell_id").fetchall())
            for table, columns in (("grade", "auto_score, manual_score, extra_credit, needs_manual_grade"),
                                   ("comment", "auto_comment, manual_comment"))}
    return nb, resources, rows


@pytest.mark.parametrize("submission", ["released", "tampered"])
def test_the_steps_give_the_notebook_grades_and_comments_nbgraders_give(course, submission):
    folder, released = course
    nb = released if submission == "released" else tampered(released)
    theirs = run(NBGRADERS, copy.deepcopy(nb), folder, f"{submission}-nbgrader")
    ours = run(OURS, copy.deepcopy(nb), folder, f"{submission}-ours")
    assert nbformat.writes(ours[0]) == nbformat.writes(theirs[0]), "the notebooks differ"
    assert ours[1]["nbgrader"] == theirs[1]["nbgrader"], "the scores differ"
    assert ours[2] == theirs[2], "the gradebooks differ"
    if submission == "tampered":  # nbgrader's own restored what was changed, and scored the failed test zero
        assert ours[0].metadata.kernelspec == released.metadata.kernelspec
        assert 0 < ours[1]["nbgrader"]["score"] < ours[1]["nbgrader"]["max_score"] < 1000


def edited(released):
    """(what was done, notebook) for each way the nbgrader metadata of a notebook can be broken, or made odd."""
    def change(edit):
        nb = copy.deepcopy(released)
        edit([cell.metadata.nbgrader for cell in nb.cells if is_grade(cell)])
        return nb
    for key, value in [("points", "ten"), ("points", True), ("points", -1), ("schema_version", 3.0),
                       ("schema_version", 99), ("grade", 1), ("locked", None), ("grade_id", "a b"), ("grade_id", 5),
                       ("grade_id", "a_cell\n"), ("checksum", "0" * 31), ("checksum", "é" * 32),
                       ("cell_type", "Code"), ("extra", 1)]:
        yield f"{key} = {value!r}", change(lambda metas: metas[0].update({key: value}))
    yield "no grade_id", change(lambda metas: metas[0].pop("grade_id"))
    yield "no solution", change(lambda metas: metas[0].pop("solution"))
    yield "duplicate grade_id", change(lambda metas: metas[1].update(grade_id=metas[0].grade_id))


def test_the_metadata_check_refuses_what_nbgraders_refuses_with_its_words(course):
    _, released = course
    nbgrader_steps.MetadataValidator().validate_nb(released)  # the course's own passes
    refused = 0
    for what, nb in edited(released):
        outcomes = []
        for validator in (NbgraderValidator(), nbgrader_steps.MetadataValidator()):
            try:
                validator.validate_nb(copy.deepcopy(nb))
                outcomes.append(None)
            except Exception as error:  # noqa: BLE001 - whichever nbgrader raises
                outcomes.append((type(error), str(error)))
        assert outcomes[0] == outcomes[1], f"{what}: {outcomes}"
        refused += outcomes[0] is not None
    assert refused == 15, "the edits were meant to break the metadata but two (odd, not wrong)"


def test_a_courses_cells_are_read_anew_once_forgotten(course, tmp_path):
    folder, released = course
    other = tmp_path / "gradebook.db"
    shutil.copyfile(folder / "gradebook.db", other)
    url = f"sqlite:///{other}"
    resources = {"nbgrader": {"notebook": "dropout", "assignment": "dropout", "db_url": url}}
    locked = next(i for i, cell in enumerate(released.cells) if is_locked(cell) and not is_grade(cell))
    OverwriteCellsKnown().preprocess(copy.deepcopy(released), resources)
    nbgrader_steps.forget_course(url)
    with sqlite3.connect(other) as connection:  # the course changed: a new run's course at the same place
        connection.execute("UPDATE source_cell SET source = 'changed' WHERE name = ?",
                           (released.cells[locked].metadata.nbgrader.grade_id,))
    nb = copy.deepcopy(released)
    nb.cells[locked].source = "a student's"
    with pytest.raises(RuntimeError, match="Inconsistent checksums"):  # nbgrader's own check, on the new cells
        OverwriteCellsKnown().preprocess(nb, resources)
    nbgrader_steps.forget_course(url)
