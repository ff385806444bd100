"""The instructor's nbgrader course: set it up, and record each graded submission in it.

The course folder is an ordinary nbgrader course (source/, submitted/, autograded/,
feedback/, gradebook.db), so an instructor can go on with nbgrader's own tools there.
Submissions are graded elsewhere (autograder.worker); this process is the gradebook's
only writer, and records each result as `nbgrader autograde` would have.
"""

import re
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from alembic.script import ScriptDirectory
from nbgrader.api import (Assignment, Base, Grade, Gradebook, Notebook, Student, SubmittedAssignment,
                          SubmittedNotebook)
from nbgrader.dbutil import ALEMBIC_DIR
from nbgrader.preprocessors import SaveAutoGrades
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import joinedload, undefer

from autograder import translation
from autograder.nbgrader_steps import SaveAutoGradesOnce, cells_together, one_commit
from autograder.outputs import describe, is_cut_mark
from autograder.worker import ASSIGNMENT, COURSE_ID, Kit, nbgrader_api

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "locales"
LANGUAGES = ("ko",)  # the exercise's editions besides English, each with a catalogue in LOCALES

COURSE_CONFIG = '''\
"""nbgrader configuration of this grading run (written by `python -m autograder grade`)."""
import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, ClearHiddenTests, ClearOutput, DeduplicateIds, IgnorePattern,
                                    LimitOutput)

from autograder.feedback import FeedbackExporter
from autograder.nbgrader_steps import (CheckCellMetadataOnce, GetGradesAtOnce, NotebookExporterCopyingOnce,
                                       OverwriteCellsKnown, OverwriteKernelspecKnown, SaveAutoGradesOnce)
from autograder.notices import TranslateNotices
from autograder.translation import TranslateReadOnly
from autograder.trusted import TrustedExecute

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "dropout-module"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "locales"]  # no catalogue in a kernel's folder
# the exercise's catalogues: a notebook in another language runs, is graded and gets its feedback in it
c.TranslateReadOnly.locale_dir = c.TranslateNotices.locale_dir = c.FeedbackExporter.locale_dir = os.path.join(
    os.path.dirname(__file__), "source", "dropout", "locales")
c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {{("language_info", "name"), "lang"}}
c.Execute.timeout = {timeout}              # seconds per cell: an endless loop fails its cell only
c.Execute.interrupt_on_timeout = True
c.TrustedExecute.submission_timeout = {submission_timeout}  # seconds per notebook, cells and tests
c.TrustedExecute.memory_mb = {memory_mb}   # memory cap of the student's kernel: processes and files together
c.TrustedExecute.processes = {processes}   # processes and threads of the student's kernel together
c.TrustedExecute.cpu_seconds = {cpu_seconds}  # CPU-seconds of the student's kernel together
c.TrustedExecute.disk_mb = {disk_mb}       # MiB its work folder may hold
c.TrustedExecute.output_bytes = {output_bytes}  # bytes of output each cell keeps (autograder.outputs)
c.LimitOutput.max_lines = {max_lines}      # and lines of it shown
# nbgrader's sanitizing steps; its cell-metadata check runs once, after execution (the grader rebuilt every
# submission on the released notebook, so the metadata it would check first is the course's own); here and
# below, nbgrader's steps with what they repeat on every notebook done once (autograder.nbgrader_steps)
c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspecKnown,
                                     OverwriteCellsKnown, TranslateReadOnly]
# nbgrader's autograde steps, with tests decided outside the student's kernel (autograder.trusted)
c.Autograde.autograde_preprocessors = [TrustedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGradesOnce, AssignLatePenalties, CheckCellMetadataOnce]
# feedback shows each test cell without its hidden part (failed checks show one line: autograder.trusted)
c.GenerateFeedback.preprocessors = [GetGradesAtOnce, ClearHiddenTests, TranslateNotices, CSSHTMLHeaderPreprocessor]
c.GenerateFeedback.exporter_class = FeedbackExporter  # nbgrader's feedback page, MathJax inside
c.Autograde.exporter_class = NotebookExporterCopyingOnce
# nbconvert validates the notebook after the last of these steps, not after each (three validations of a
# submission, not sixteen): none of them makes a notebook invalid that a later one mends
c.Exporter.optimistic_validation = True
'''


@dataclass
class Result:
    """One student's grades, as nbgrader's gradebook holds them."""

    score: float = 0.0
    max_score: float = 0.0
    cells: dict = field(default_factory=dict)  # grade_id -> points earned (None: not graded yet)
    manual_pending: bool = False


class CourseError(Exception):
    """The nbgrader course cannot be set up (nothing can be graded)."""


def create_course(course, limits):
    """An nbgrader course in `course` with the exercise generated and recorded; return (released notebooks, Kit).

    The released notebooks: language -> the student notebook in it, English first.
    """
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    for language in LANGUAGES:
        catalogue = translation.catalogue_path(course / "source" / ASSIGNMENT / "locales", language)
        catalogue.parent.mkdir(parents=True)
        shutil.copyfile(translation.catalogue_path(LOCALES, language), catalogue)
    config = COURSE_CONFIG.format(timeout=limits.cell_seconds, submission_timeout=limits.submission_seconds,
                                  memory_mb=limits.memory_mb, max_lines=limits.max_lines,
                                  output_bytes=limits.output_kb * 2**10, processes=limits.processes,
                                  cpu_seconds=limits.cpu_seconds, disk_mb=limits.disk_mb)
    (course / "nbgrader_config.py").write_text(config)
    create_gradebook(course / "gradebook.db")
    try:
        result = nbgrader_api(course).generate_assignment(ASSIGNMENT)
    except Exception as error:  # noqa: BLE001 - a config that does not load: nbgrader must not go on without it
        raise CourseError(f"nbgrader could not load {course / 'nbgrader_config.py'}: {error}") from None
    if not result["success"]:
        raise CourseError(f"nbgrader could not set up the course:\n{result.get('log', '')[-3000:]}")
    source = {p.relative_to(course / "source").as_posix(): p.read_bytes()
              for p in (course / "source").rglob("*") if p.is_file()}
    kit = Kit(config=config, source=source, gradebook=(course / "gradebook.db").read_bytes(), limits=limits)
    released = {"en": nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)}
    for language in LANGUAGES:
        strings = translation.read_catalogue(translation.catalogue_path(LOCALES, language))
        released[language], _ = translation.translate(released["en"], strings, language)
    return released, kit


def create_gradebook(path):
    """An empty gradebook, as nbgrader's Gradebook creates one, with alembic's head revision read in-process.

    nbgrader runs the `alembic` command to learn it, a new Python that imports nbgrader again:
    over a second, most of a course's set-up.
    """
    engine = create_engine(f"sqlite:///{path}")
    try:
        Base.metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"),
                               {"head": ScriptDirectory(ALEMBIC_DIR).get_current_head()})
    finally:
        engine.dispose()


def submission_path(course, student_id):
    return course / "submitted" / student_id / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def autograded_path(course, student_id):
    return course / "autograded" / student_id / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


class SaveAutoGradesIn(SaveAutoGradesOnce):
    """nbgrader's SaveAutoGrades (as SaveAutoGradesOnce reads grades), into a gradebook open for the whole run."""

    def __init__(self, gradebook, **kwargs):
        super().__init__(**kwargs)
        self.open_gradebook = gradebook

    def preprocess(self, nb, resources):
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.student_id = resources["nbgrader"]["student"]
        self.gradebook = self.open_gradebook
        with cells_together(self.open_gradebook):
            return super(SaveAutoGrades, self).preprocess(nb, resources)


class Recorder:
    """The gradebook's only writer: records each graded submission as `nbgrader autograde` does."""

    def __init__(self, course):
        self.course = course
        self.gradebook = Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=COURSE_ID)
        self.save = SaveAutoGradesIn(self.gradebook)

    def record(self, graded):
        """Autograded notebook, grades and feedback of one student into the course; return the notebook."""
        nb = nbformat.reads(graded.notebook, as_version=4)
        with warnings.catch_warnings(), one_commit(self.gradebook):
            warnings.simplefilter("ignore", SAWarning)  # nbgrader's own SQLAlchemy usage warns on every submission
            self.gradebook.update_or_create_student(graded.student_id)
            self.gradebook.update_or_create_submission(ASSIGNMENT, graded.student_id)
            self.save.preprocess(nb, {"nbgrader": {"assignment": ASSIGNMENT, "notebook": ASSIGNMENT,
                                                   "student": graded.student_id}})
        folder = autograded_path(self.course, graded.student_id).parent
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(self.course / "source" / ASSIGNMENT, folder, ignore=shutil.ignore_patterns("*.ipynb"))
        # the worker's file as nbgrader wrote it (recording changes the gradebook, not the notebook): the same
        # bytes nbformat.write would give, without serialising and validating it again
        (folder / f"{ASSIGNMENT}.ipynb").write_text(graded.notebook, encoding="utf-8")
        if graded.feedback is not None:
            feedback = self.course / "feedback" / graded.student_id / ASSIGNMENT / f"{ASSIGNMENT}.html"
            feedback.parent.mkdir(parents=True, exist_ok=True)
            feedback.write_text(graded.feedback)
        return nb

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.gradebook.close()


NEVER_RETURNED = re.compile(r"(\w+) never returned")


def observations(nb, limits):
    """What grading saw in the executed notebook: timeouts, memory, output floods, errors in answers."""
    seen = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        outputs = cell.get("outputs", [])
        errors = [o.ename for o in outputs if o.output_type == "error"]
        never = [m.group(1) for o in outputs if o.output_type == "error"
                 for m in [NEVER_RETURNED.match(str(o.get("evalue", "")))] if m]
        if any(o.output_type == "error" and "did not stop when interrupted" in str(o.get("evalue")) for o in outputs):
            seen.append(f"a cell ran longer than {limits.cell_seconds} s and did not stop when interrupted")
        elif "CellTimeoutError" in errors:  # its KeyboardInterrupt, when recorded, is the timeout's doing
            seen.append(f"a cell ran longer than {limits.cell_seconds} s")
        elif never:
            seen.append(f"never returned from {never[0]}")
        elif any(o.output_type == "error" and "[Errno 28]" in str(o.get("evalue")) for o in outputs):
            seen.append(f"wrote more than {limits.disk_mb} MiB of files: its folder or /tmp was full")
        elif "MemoryError" in errors:
            seen.append(f"a cell ran out of memory (cap {limits.memory_mb} MiB)")
        elif errors and meta.get("solution"):
            seen.append(f"{errors[0]} in {meta['grade_id']}")
        if any(is_cut_mark(o) for o in outputs):
            seen.append(f"a cell printed more than {describe(limits.output_kb * 2**10)}: output cut")
        elif any(o.output_type == "stream" and o.text.endswith("... Output truncated ...") for o in outputs):
            seen.append(f"output cut at {limits.max_lines} lines")
    return list(dict.fromkeys(seen))


RESULTS_AT_ONCE = 100  # students whose grades are read together: the rows held at a time, 4 MiB


def results(course, student_ids):
    """Grades from nbgrader's gradebook for the students it graded: two queries per hundred students.

    nbgrader's find_submission_notebook and each notebook's grades are a query each: asked
    student by student, 8 ms a student, at the end of the run, while every worker waits.
    """
    found, student_ids = {}, list(student_ids)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=COURSE_ID) as gradebook:
        for start in range(0, len(student_ids), RESULTS_AT_ONCE):
            found.update(_results(gradebook.db, student_ids[start:start + RESULTS_AT_ONCE]))
            gradebook.db.expunge_all()  # what was read is let go: memory does not grow with the class
    return found


def _results(session, student_ids):
    notebooks = session.query(SubmittedNotebook).join(Notebook).join(Assignment).join(
        SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id).join(Student).filter(
        Notebook.name == ASSIGNMENT, Assignment.name == ASSIGNMENT, Student.id.in_(student_ids)).options(
        undefer(SubmittedNotebook.score), undefer(SubmittedNotebook.max_score),  # nbgrader defers them
        joinedload(SubmittedNotebook.assignment).joinedload(SubmittedAssignment.student)).all()
    notebooks = {notebook.id: notebook for notebook in notebooks}
    grades = {}
    for grade in session.query(Grade).options(joinedload(Grade.cell)).filter(Grade.notebook_id.in_(list(notebooks))):
        grades.setdefault(grade.notebook_id, []).append(grade)
    found = {}
    for notebook_id, notebook in notebooks.items():
        result = Result(score=notebook.score, max_score=notebook.max_score)
        for grade in sorted(grades.get(notebook_id, []), key=lambda g: g.name):
            result.cells[grade.name] = grade.score if grade.score is not None and not grade.needs_manual_grade else None
            result.manual_pending |= grade.needs_manual_grade
        found[notebook.student.id] = result
    return found
