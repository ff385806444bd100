"""Real nbgrader: the solution earns every autograded point, the untouched stubs none; the grader's
gradebook is nbgrader's own."""

import shutil
import sqlite3

from nbgrader.api import Gradebook

from autograder.grading import create_gradebook
from conftest import nbgrader
from notebook_cells import SOLUTION, graded_tests


def test_autograde_gives_solution_full_marks_and_stubs_zero(course):
    for student, notebook in [("solution", SOLUTION), ("stubs", course / "exercises" / "dropout" / "dropout.ipynb")]:
        folder = course / "submitted" / student / "dropout"
        folder.mkdir(parents=True)
        shutil.copy(notebook, folder / "dropout.ipynb")
    nbgrader("autograde", "dropout", cwd=course)

    total = sum(graded_tests().values())
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        solution = gradebook.find_submission("dropout", "solution")
        stubs = gradebook.find_submission("dropout", "stubs")
        assert solution.max_code_score == total
        assert solution.code_score == total, f"the solution earned {solution.code_score} of {total}"
        assert stubs.code_score == 0, f"the stubs earned {stubs.code_score} points"


def test_the_graders_gradebook_is_the_one_nbgrader_creates(tmp_path):
    """Same tables and the same alembic revision as a gradebook nbgrader creates itself."""
    create_gradebook(tmp_path / "ours.db")
    Gradebook(f"sqlite:///{tmp_path / 'nbgraders.db'}").close()

    def schema(path):
        with sqlite3.connect(path) as db:
            tables = sorted(db.execute("SELECT type, name, sql FROM sqlite_master"))
            return tables, db.execute("SELECT version_num FROM alembic_version").fetchall()

    assert schema(tmp_path / "ours.db") == schema(tmp_path / "nbgraders.db")
