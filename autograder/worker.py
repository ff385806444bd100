"""Grade one submission in a private nbgrader course: `nbgrader autograde`, then its feedback.

Runs wherever a grading task runs (a local worker process or a Dask worker on another
machine). Each worker thread makes its own course once, from a `Kit` (config, source
folder and a gradebook with the assignment recorded), and grades every submission it
is given there with nbgrader's own API, in-process. Nothing is written to the
instructor's course here: the result goes back to the one process that records it.
"""

import atexit
import logging
import shutil
import tempfile
import threading
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import SAWarning
from traitlets.config.loader import PyFileConfigLoader

ASSIGNMENT = "dropout"
COURSE_ID = "dropout-module"


@dataclass
class Limits:
    """What one submission may use."""

    cell_seconds: int = 10
    submission_seconds: int = 300
    memory_mb: int = 2048
    max_lines: int = 1000


@dataclass
class Kit:
    """What a worker needs to make its own copy of the course."""

    config: str  # nbgrader_config.py
    source: dict  # path relative to source/ -> bytes
    gradebook: bytes  # gradebook.db with the assignment and its cells, no students
    limits: Limits
    key: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class Graded:
    """One submission's outcome: nbgrader's autograded notebook and feedback, or why there are none."""

    student_id: str
    failure: str | None = None
    notebook: str | None = None
    feedback: str | None = None


_local = threading.local()


def _course(kit):
    """This thread's private course for kit, made on first use: (root, NbGraderAPI)."""
    courses = getattr(_local, "courses", None)
    if courses is None:
        courses = _local.courses = {}
    if kit.key not in courses:
        root = Path(tempfile.mkdtemp(prefix="autograder-course-"))
        atexit.register(shutil.rmtree, root, True)
        (root / "nbgrader_config.py").write_text(kit.config)
        for name, data in kit.source.items():
            (root / "source" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "source" / name).write_bytes(data)
        (root / "gradebook.db").write_bytes(kit.gradebook)
        courses[kit.key] = root, nbgrader_api(root)
    return courses[kit.key]


def nbgrader_api(root):
    """nbgrader's API on the course at root, with its nbgrader_config.py; its log is kept, not printed."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    api = NbGraderAPI(coursedir=CourseDirectory(root=str(root), config=config), config=config)
    api.log = logging.getLogger(f"autograder.nbgrader.{uuid.uuid4().hex}")
    api.log.propagate = False  # capture_log (nbgrader's) collects it per command
    api.log.addHandler(logging.NullHandler())
    return api


def _reason(result, limits):
    """Why nbgrader could not autograde, in the instructor's terms."""
    text = (result.get("log") or "") + (result.get("error") or "")
    if "SubmissionTimeout" in text:
        return f"grading stopped after {limits.submission_seconds} s"
    if "DeadKernelError" in text or "Kernel died" in text:
        return "the kernel died: the notebook ends or crashes its own Python process"
    if "MemoryError" in text:
        return f"out of memory (cap {limits.memory_mb} MiB)"
    lines = [line for line in (result.get("error") or text).splitlines() if line.strip()]
    return f"nbgrader could not grade it: {(lines or ['no output'])[-1][:150]}"


def grade(kit, student_id, notebook):
    """Autograde one prepared notebook (JSON text) and make its feedback; return a Graded."""
    root, api = _course(kit)
    path = Path(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    submitted = root / "submitted" / student_id / path
    submitted.parent.mkdir(parents=True, exist_ok=True)
    submitted.write_text(notebook)
    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's own SQLAlchemy usage, on every student
    try:
        result = api.autograde(ASSIGNMENT, student_id)
        autograded = root / "autograded" / student_id / path
        if not result["success"] or not autograded.exists():
            return Graded(student_id, failure=_reason(result, kit.limits))
        graded = Graded(student_id, notebook=autograded.read_text())
        feedback = root / "feedback" / student_id / path.with_suffix(".html")
        if api.generate_feedback(ASSIGNMENT, student_id)["success"] and feedback.exists():
            graded.feedback = feedback.read_text()
        return graded
    finally:  # no student's files stay behind for the next one
        for folder in ("submitted", "autograded", "feedback"):
            shutil.rmtree(root / folder / student_id, ignore_errors=True)
