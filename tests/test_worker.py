"""A grading worker keeps nbgrader's database engines while it grades, and only then."""

from nbgrader.api import Gradebook
from sqlalchemy import text

from autograder import worker
from autograder.grading import create_gradebook


def test_gradebooks_opened_while_grading_share_one_engine(tmp_path):
    """SQLAlchemy's cache of compiled SQL lives on the engine: nbgrader's Gradebooks keep one while grading."""
    create_gradebook(tmp_path / "gradebook.db")
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    engines = {}
    with worker.kept_engines(engines):
        with Gradebook(url) as first:
            pass
        with Gradebook(url) as second:
            second.add_student("a")
            assert second.find_student("a").id == "a", "a kept engine, disposed by the last Gradebook, still works"
    assert first.engine is second.engine and list(engines.values()) == [first.engine]
    with Gradebook(url) as third, Gradebook(url) as fourth:
        assert third.engine is not fourth.engine, "outside grading, each Gradebook has its own engine, as in nbgrader"
        assert [student.id for student in third.students] == ["a"]


def test_a_workers_gradebook_does_not_wait_for_the_disk_and_the_instructors_does(tmp_path):
    """The worker's private copy commits without fsync; a Gradebook outside grading keeps SQLite's defaults."""
    create_gradebook(tmp_path / "gradebook.db")
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with worker.kept_engines({}), Gradebook(url) as private:
        assert private.db.execute(text("PRAGMA synchronous")).scalar() == 0
    with Gradebook(url) as instructors:
        assert instructors.db.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL, SQLite's default
