"""Real nbgrader: the solution earns every autograded point, the untouched stubs none."""

import shutil

from nbgrader.api import Gradebook

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
