"""The one gradebook writer: each notebook's grades are committed whole, or not at all."""

import copy

import nbformat
import pytest
from nbgrader.api import MissingEntry
from nbgrader.utils import is_grade

from autograder import command as grade_command
from autograder import grading, worker


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recorder") / "course"
    released, _ = grading.create_course(folder, worker.Limits())
    released = released["en"]
    return folder, released


def graded(student_id, nb):
    return worker.Graded(student_id, notebook=nbformat.writes(nb))


def test_a_notebook_the_gradebook_refuses_leaves_nothing_and_the_next_is_recorded(course):
    folder, released = course
    unknown = copy.deepcopy(released)
    test_cell = next(cell for cell in unknown.cells if is_grade(cell))
    test_cell.metadata.nbgrader.grade_id = "a_cell_the_course_does_not_have"
    with grading.Recorder(folder) as recorder:
        with pytest.raises(MissingEntry):
            recorder.record(graded("refused", unknown))
        status = grade_command._status(recorder, "refused", graded("refused", unknown), [], worker.Limits())
        assert status == "not graded: the gradebook refused its grades; grade it again with --resume", status
        recorder.record(graded("accepted", released))
    found = grading.results(folder, ["refused", "accepted"])  # a gradebook opened anew: only commits show
    assert list(found) == ["accepted"], "a notebook's partial grades stayed in the gradebook"
    assert not (folder / "autograded" / "refused").exists()
    assert found["accepted"].max_score > 0 and len(found["accepted"].cells) == sum(
        1 for cell in released.cells if is_grade(cell))
