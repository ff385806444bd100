"""Grade one submission in a private nbgrader course: `nbgrader autograde`, then its feedback.

Runs wherever a grading task runs (a local worker process or a Dask worker on another
machine). Each worker thread makes its own course once, from a `Kit` (config, source
folder and a gradebook with the assignment recorded), and grades every submission it
is given there with nbgrader's own API, in-process. Nothing is written to the
instructor's course here: the result goes back to the one process that records it.
When the run ends its courses are removed (`forget`), so a long-lived worker keeps none.
"""

import logging
import shutil
import tempfile
import threading
import time
import uuid
import warnings
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbgrader.api
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.exc import SAWarning
from traitlets.config.loader import PyFileConfigLoader

from autograder import heap, nbgrader_steps, phases, trusted

ASSIGNMENT = "dropout"
COURSE_ID = "dropout-module"


@dataclass
class Limits:
    """What one submission may use."""

    cell_seconds: int = 10
    submission_seconds: int = 300
    memory_mb: int = 2048
    max_lines: int = 1000
    output_kb: int = 1024
    processes: int = 64
    cpu_seconds: int = 120
    disk_mb: int = 256


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
    detail: str | None = None  # for the instructor's console: what nbgrader said when it failed
    breaches: list = field(default_factory=list)  # the caps its processes hit (autograder.cgroups)
    usage: dict = field(default_factory=dict)  # wall seconds, peak memory and processes, CPU-seconds (by phase)


class _Course:
    """A worker thread's private copy of the course, the database engines nbgrader uses on it, its spare kernel."""

    def __init__(self, kit):
        self.root = Path(tempfile.mkdtemp(prefix="autograder-course-"))
        self._remove_folder = weakref.finalize(self, shutil.rmtree, self.root, True)  # also if the worker exits
        (self.root / "nbgrader_config.py").write_text(kit.config)
        for name, data in kit.source.items():
            (self.root / "source" / name).parent.mkdir(parents=True, exist_ok=True)
            (self.root / "source" / name).write_bytes(data)
        (self.root / "gradebook.db").write_bytes(kit.gradebook)
        self.api = nbgrader_api(self.root)
        self.engines = {}
        self.spare = trusted.SpareKernel()

    def remove(self):
        self.spare.close_servers()
        nbgrader_steps.forget_course(self.api.coursedir.db_url)
        for engine in self.engines.values():
            engine.dispose()
        self._remove_folder()


_courses = {}  # (thread, kit key) -> _Course
_courses_lock = threading.Lock()
_local = threading.local()


def _course(kit):
    """This thread's private course for kit, made on first use."""
    key = (threading.get_ident(), kit.key)
    with _courses_lock:
        if key not in _courses:
            _courses[key] = _Course(kit)
        return _courses[key]


def forget(kit_key):
    """Remove this process's courses of a finished run (every thread's)."""
    with _courses_lock:
        done = [_courses.pop(key) for key in list(_courses) if key[1] == kit_key]
    for course in done:
        course.remove()
    trusted.close_started_servers()


def warm_up(limits):
    """Ready this process to grade: its imports are done (a task's function), freed memory is kept for the
    checks' arrays (autograder.heap), its kernel servers are started now."""
    heap.keep_freed_memory()
    trusted.start_servers(limits.memory_mb, limits.disk_mb)


@contextmanager
def kept_engines(engines):
    """In this thread, nbgrader's Gradebooks take their database engines from the dict `engines`, and keep them.

    nbgrader opens about ten Gradebooks per submission, each on a new engine whose cache of
    compiled SQL starts empty; kept, the cache spares a tenth of a CPU-second per submission.
    """
    _local.engines = engines
    try:
        yield
    finally:
        _local.engines = None


def _gradebook_engine(url, **options):
    """The engine for nbgrader's `Gradebook` (nbgrader.api.create_engine): a kept one, if there is one."""
    engines = getattr(_local, "engines", None)
    if engines is None:
        return create_engine(url, **options)
    key = (url, tuple(sorted(options.items())))
    if key not in engines:
        engines[key] = create_engine(url, **options)
        event.listen(engines[key], "connect", _unsynced)
    return engines[key]


def _unsynced(connection, _record):
    """SQLite without waiting for the disk: a worker's gradebook is a private copy, thrown away after the run.

    nbgrader commits after every cell it scores, and each commit waited for the disk (fsync)
    longer than the cell took to score. The instructor's gradebook (autograder.grading) is written durably.
    """
    connection.execute("PRAGMA synchronous = OFF")
    connection.execute("PRAGMA journal_mode = MEMORY")


nbgrader.api.create_engine = _gradebook_engine


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
    if "SubmissionTimeout" in text or trusted.outcome().expired:
        return f"grading stopped after {limits.submission_seconds} s"
    if "DeadKernelError" in text or "Kernel died" in text:
        return "the kernel died: the notebook ends or crashes its own Python process"
    if "MemoryError" in text:
        return f"out of memory (cap {limits.memory_mb} MiB)"
    return GRADER_FAILED


GRADER_FAILED = "nbgrader failed on it"
_one_at_a_time = threading.Lock()


def grade(kit, student_id, notebook):
    """Autograde one prepared notebook (JSON text) and make its feedback; return a Graded.

    A process grades one notebook at a time, whatever its threads: nbgrader's autograde sets
    and deletes an environment variable of the whole process (NBGRADER_EXECUTION).
    """
    with _one_at_a_time:
        start = time.monotonic()
        with phases.Meter(phases.WORKER) as meter:
            graded = _grade(kit, student_id, notebook)
        found = trusted.outcome()
        graded.breaches = found.breaches
        graded.usage = {**found.usage, "seconds": time.monotonic() - start, "cpu": meter.seconds}
        if graded.failure and found.breaches and not found.expired:
            graded.failure = f"its kernel was stopped: it {'; '.join(found.breaches)}"
        return graded


def _grade(kit, student_id, notebook):
    course = _course(kit)
    root, api = course.root, course.api
    path = Path(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    submitted = root / "submitted" / student_id / path
    submitted.parent.mkdir(parents=True, exist_ok=True)
    submitted.write_text(notebook)
    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's own SQLAlchemy usage, on every student
    trusted.use_spare(course.spare)
    try:
        with kept_engines(course.engines):
            with phases.within(phases.AUTOGRADE):
                result = api.autograde(ASSIGNMENT, student_id)
            autograded = root / "autograded" / student_id / path
            if not result["success"] or not autograded.exists():
                failure = _reason(result, kit.limits)
                detail = (result.get("log") or result.get("error") or "")[-2000:] if failure == GRADER_FAILED else None
                return Graded(student_id, failure=failure, detail=detail)
            graded = Graded(student_id, notebook=autograded.read_text())
            feedback = root / "feedback" / student_id / path.with_suffix(".html")
            with phases.within(phases.FEEDBACK):
                if api.generate_feedback(ASSIGNMENT, student_id)["success"] and feedback.exists():
                    graded.feedback = feedback.read_text()
            return graded
    finally:  # no student's files stay behind for the next one
        for folder in ("submitted", "autograded", "feedback"):
            shutil.rmtree(root / folder / student_id, ignore_errors=True)
