"""Grade prepared submissions with nbgrader, one student at a time, each in a capped process.

The course folder is an ordinary nbgrader course (source/, submitted/, autograded/,
feedback/, gradebook.db), so an instructor can go on with nbgrader's own tools there.
"""

import os
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "dropout"

COURSE_CONFIG = '''\
"""nbgrader configuration of this grading run (written by `python -m autograder grade`)."""
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, GetGrades,
                                    IgnorePattern, LimitOutput, SaveAutoGrades)

from autograder.trusted import TrustedExecute

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "dropout-module"
c.Execute.timeout = {timeout}              # seconds per cell: an endless loop fails its cell only
c.Execute.interrupt_on_timeout = True
c.LimitOutput.max_lines = {max_lines}      # an output flood is cut, the rest still graded
# nbgrader's autograde steps, with tests decided outside the student's kernel (autograder.trusted)
c.Autograde.autograde_preprocessors = [TrustedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
# feedback shows each test cell without its hidden part (failed checks show one line: autograder.trusted)
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
'''


@dataclass
class Limits:
    """What one submission may use."""

    cell_seconds: int = 10
    submission_seconds: int = 300
    memory_mb: int = 2048
    max_lines: int = 1000


@dataclass
class Result:
    """One student's grades, as nbgrader's gradebook holds them."""

    score: float = 0.0
    max_score: float = 0.0
    cells: dict = field(default_factory=dict)  # grade_id -> points earned (None: not graded yet)
    manual_pending: bool = False


def _environment(course):
    """A minimal environment for student code: no instructor variables, one BLAS thread."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
        "HOME": str(course / ".home"),
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "PYTHONPATH": str(ROOT),
    }


def nbgrader(course, *args, limits=None, timeout=None):
    """Run one nbgrader command in the course folder; return (exit code, its log)."""
    def cap_memory():
        if limits:
            size = limits.memory_mb * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    process = subprocess.Popen(
        [sys.executable, "-m", "nbgrader", *args], cwd=course, env=_environment(course),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
        preexec_fn=cap_memory, start_new_session=True,
    )
    try:
        log, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None, f"stopped after {timeout} s"
    if "Exception while loading config file" in log:  # nbgrader would go on with its defaults: never
        raise RuntimeError(f"nbgrader could not load {course / 'nbgrader_config.py'}:\n{log[-3000:]}")
    return process.returncode, log


def create_course(course, limits):
    """An nbgrader course in `course` with the exercise's master notebook, generated and recorded."""
    (course / ".home").mkdir(parents=True)
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    (course / "nbgrader_config.py").write_text(
        COURSE_CONFIG.format(timeout=limits.cell_seconds, max_lines=limits.max_lines))
    code, log = nbgrader(course, "generate_assignment", ASSIGNMENT)
    if code != 0:
        raise RuntimeError(f"nbgrader could not set up the course:\n{log[-3000:]}")
    return nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)


def submission_path(course, student_id):
    return course / "submitted" / student_id / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def autograde(course, student_id, limits):
    """Autograde one student's submitted notebook; return None when it worked, else the reason it did not."""
    code, log = nbgrader(course, "autograde", ASSIGNMENT, "--student", student_id,
                         limits=limits, timeout=limits.submission_seconds)
    graded = course / "autograded" / student_id / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    if code == 0 and graded.exists():
        return None
    if code is None:
        return f"grading stopped after {limits.submission_seconds} s"
    if "DeadKernelError" in log or "Kernel died" in log:
        return "the kernel died: the notebook ends or crashes its own Python process"
    if "MemoryError" in log:
        return f"out of memory (cap {limits.memory_mb} MiB)"
    last = [line for line in log.splitlines() if line.strip()][-1:] or ["no output"]
    return f"nbgrader could not grade it: {last[0][:150]}"


def observations(course, student_id, limits):
    """What grading saw in the executed notebook: timeouts, memory, output floods, errors in answers."""
    path = course / "autograded" / student_id / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    seen = []
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        outputs = cell.get("outputs", [])
        errors = [o.ename for o in outputs if o.output_type == "error"]
        if "CellTimeoutError" in errors:  # its KeyboardInterrupt, when recorded, is the timeout's doing
            seen.append(f"a cell ran longer than {limits.cell_seconds} s")
        elif "MemoryError" in errors:
            seen.append(f"a cell ran out of memory (cap {limits.memory_mb} MiB)")
        elif errors and meta.get("solution"):
            seen.append(f"{errors[0]} in {meta['grade_id']}")
        if any(o.output_type == "stream" and o.text.endswith("... Output truncated ...") for o in outputs):
            seen.append(f"output cut at {limits.max_lines} lines")
    return list(dict.fromkeys(seen))


def results(course, student_ids):
    """Grades from nbgrader's gradebook for the students it graded."""
    found = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="dropout-module") as gradebook:
        for student_id in student_ids:
            try:
                notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student_id)
            except MissingEntry:
                continue
            result = Result(score=notebook.score, max_score=notebook.max_score)
            for grade in sorted(notebook.grades, key=lambda g: g.name):
                result.cells[grade.name] = grade.score if grade.score is not None and not grade.needs_manual_grade else None
                result.manual_pending |= grade.needs_manual_grade
            found[student_id] = result
    return found


def generate_feedback(course):
    """nbgrader's HTML feedback for every autograded student (hidden tests removed)."""
    code, log = nbgrader(course, "generate_feedback", ASSIGNMENT)
    if code != 0:
        raise RuntimeError(f"nbgrader could not generate feedback:\n{log[-3000:]}")
