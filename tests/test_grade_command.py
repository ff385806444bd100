"""`python -m autograder grade` end to end, on a batch with every kind of submission."""

import copy
import csv
import hashlib
import os
import re
import subprocess
import sys
from typing import NamedTuple

import nbformat
import pytest
from nbgrader.api import Gradebook

from conftest import ROOT
from mutants import MUTANTS, patched_answers
from notebook_cells import EXERCISE, answer_source, failed_tests, graded_tests, nbgrader_meta, secret_fragments

RELEASED = nbformat.read(EXERCISE, as_version=4)
AUTO_POINTS = sum(graded_tests().values())
WRITTEN = {"answer_divide_by_p": "Training would see p times smaller activations on average.",
           "answer_seeds": "Same masks for gradient checks, fresh masks for training."}
# Points of the checks that need no dropout_forward: what a notebook without it still earns.
WITHOUT_FORWARD = 4


def completed(**changes):
    """The released notebook as a student completes it: the solution's code, their own words."""
    nb = copy.deepcopy(RELEASED)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            grade_id = meta["grade_id"]
            cell.source = changes.get(grade_id, WRITTEN.get(grade_id) or answer_source(grade_id))
    return nb


def with_code_before(grade_id, code):
    return completed(**{grade_id: code + "\n" + answer_source(grade_id)})


def tampered_stubs():
    nb = copy.deepcopy(RELEASED)
    tests = [c for c in nb.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code"]
    for cell in tests[1:]:
        cell.source = "pass"
    nb.cells.remove(tests[0])
    duplicate = copy.deepcopy(tests[1])
    duplicate.id = "duplicate"
    nb.cells.append(duplicate)
    return nb


STUBS = {nbgrader_meta(c)["grade_id"]: c.source for c in RELEASED.cells if nbgrader_meta(c).get("solution")}


def cheat(code):
    """A notebook with no real answers whose first answer cell tries to pass the checks anyway."""
    return completed(**{**STUBS, "dropout_forward": code + "\n" + STUBS["dropout_forward"]})


# Each cheat must gain nothing: it earns exactly the points of its honest code (none here).
CHEATS = {
    "cheat_redefine_checks": cheat("import dropout_checks\nfor name in dir(dropout_checks):\n"
                                   "    if name.startswith('check_'):\n"
                                   "        setattr(dropout_checks, name, lambda *a, **k: None)\n"
                                   "        globals()[name] = lambda *a, **k: None"),
    "cheat_patch_numpy": cheat("import numpy, numpy.testing\nnumpy.array_equal = lambda *a, **k: True\n"
                               "numpy.allclose = lambda *a, **k: True\nnumpy.isclose = lambda *a, **k: True\n"
                               "numpy.testing.assert_allclose = lambda *a, **k: None"),
    "cheat_always_equal": cheat("class Anything:\n    shape = property(lambda self: (0,))\n"
                                "    def __eq__(self, other):\n        return True\n"
                                "    def __getattr__(self, name):\n        return self\n"
                                "    def __call__(self, *a, **k):\n        return self\n"
                                "def dropout_forward(x, dropout_param):\n    return Anything(), Anything()\n"
                                "def dropout_backward(dout, cache):\n    return Anything()"),
    "cheat_swallow_exceptions": cheat("ip = get_ipython()\nip.set_custom_exc((BaseException,), lambda *a, **k: None)\n"
                                      "ip.showtraceback = lambda *a, **k: None"),
    "cheat_detect_grading": cheat("import os\nif os.environ.get('NBGRADER_EXECUTION'):\n"
                                  "    import builtins\n    builtins.AssertionError = type('Ignored', (Exception,), {})"),
    "cheat_hard_coded": completed(dropout_forward=answer_source("dropout_forward").replace(
        "    p, mode = dropout_param[\"p\"], dropout_param[\"mode\"]",
        "    p, mode = dropout_param[\"p\"], dropout_param[\"mode\"]\n"
        "    if dropout_param.get(\"seed\") not in (None, 0, 1, 2, 3, 4, 5, 123, 124):\n"
        "        return x, (dropout_param, None)  # only the visible seeds get real dropout")),
}

SPY = """
import glob, json
for pattern in {paths!r}:
    for path in glob.glob(pattern):
        try:
            cells = json.load(open(path))["cells"]
        except Exception:
            continue
        for cell in cells:  # run whatever answers it found
            source = "".join(cell["source"])
            if cell["cell_type"] == "code" and "def " in source and "NotImplementedError" not in source:
                try:
                    exec(source, globals())
                except Exception:
                    pass
"""
VANDAL = """
import sqlite3
for path in {paths!r}:
    try:
        with open(path, "w") as handle:
            handle.write("planted")
    except Exception:
        pass
try:
    with sqlite3.connect({gradebook!r}) as db:
        db.execute("UPDATE grade SET auto_score = 99")
except Exception:
    pass
"""


def with_extra_cell(code):
    """The untouched stubs with a cell of the student's own at the end."""
    nb = copy.deepcopy(RELEASED)
    nb.cells.append(nbformat.v4.new_code_cell(code))
    return nb


def file_cheats(submissions, out):
    """Cheats that reach for files outside the student's folder, by absolute and relative paths."""
    course = out / "course"
    return {
        "cheat_read_hidden_tests": with_extra_cell(SPY.format(paths=[
            str(ROOT / "solutions" / "dropout" / "dropout.ipynb"), str(course / "source" / "dropout" / "dropout.ipynb"),
            "../../../source/dropout/dropout.ipynb", "../../../../source/dropout/dropout.ipynb"])),
        "cheat_read_other_student": with_extra_cell(SPY.format(paths=[
            str(submissions / "solution" / "dropout.ipynb"), str(course / "submitted" / "solution" / "dropout" / "dropout.ipynb"),
            str(course / "autograded" / "solution" / "dropout" / "dropout.ipynb"), "../../*/dropout/dropout.ipynb"])),
        "cheat_write_outside": with_extra_cell(VANDAL.format(gradebook=str(course / "gradebook.db"), paths=[
            str(submissions / "solution" / "dropout.ipynb"), str(course / "source" / "dropout" / "dropout.ipynb"),
            str(out / "planted.txt"), str(ROOT / "planted.txt"), "../../../gradebook.db"])),
    }


FILE_CHEATS = ("cheat_read_hidden_tests", "cheat_read_other_student", "cheat_write_outside")

BATCH = {
    "solution": completed(),
    "stubs": copy.deepcopy(RELEASED),
    "no_division": completed(**patched_answers(MUTANTS["no division by p"], answer_source)),
    "cs231n_seed": completed(**patched_answers(MUTANTS["one seed for every layer (CS231n)"], answer_source)),
    "not_json": "{ this is not json",
    "not_notebook": '{"nbformat": 4, "nbformat_minor": 5, "cells": "none"}',
    "old_format": nbformat.writes(nbformat.convert(completed(), 3)),
    "tampered_tests": tampered_stubs(),
    "endless_loop": completed(**{"dropout_backward": answer_source("dropout_backward") + "\nwhile True:\n    pass"}),
    "memory_bomb": with_code_before("dropout_forward", "hog = bytearray(20 * 2**30)"),
    "output_flood": completed(**{"dropout_backward": answer_source("dropout_backward") + "\nfor i in range(50_000):\n    print(i)"}),
    "kills_kernel": with_code_before("dropout_forward", "import os\nos._exit(3)"),
    "import_error": with_code_before("dropout_forward", "import a_module_that_does_not_exist"),
    **CHEATS,
}

EXPECTED = {  # student: (status, autograded points)
    "solution": ("graded", AUTO_POINTS),
    "stubs": ("graded", 0),
    "no_division": ("graded", AUTO_POINTS - 4),
    "cs231n_seed": ("graded", AUTO_POINTS - 3),
    "not_json": ("not a notebook: invalid JSON (Expecting property name enclosed in double quotes, line 1)", None),
    "not_notebook": ("not a notebook: it has no cells", None),
    "old_format": ("graded: converted from nbformat 3", AUTO_POINTS),
    "renamed": ("graded: notebook was named dropout (2).ipynb", AUTO_POINTS),
    "tampered_tests": ("graded: deleted cells restored: test_forward_output_shape; duplicated cells restored: "
                       "test_forward_mask_values; edited cells restored: " + ", ".join(
                           g for g in graded_tests() if g not in ("test_forward_output_shape", "test_forward_mask_values")),
                       0),
    "endless_loop": ("graded: a cell ran longer than 3 s", AUTO_POINTS),
    "memory_bomb": ("graded: a cell ran out of memory (cap 2048 MiB)", WITHOUT_FORWARD),
    "output_flood": ("graded: output cut at 1000 lines", AUTO_POINTS),
    "kills_kernel": ("the kernel died: the notebook ends or crashes its own Python process", None),
    "import_error": ("graded: ModuleNotFoundError in dropout_forward", WITHOUT_FORWARD),
    "empty_folder": ("no notebook in the student's folder", None),
    "two_notebooks": ("2 notebooks (dropout.ipynb, dropout_copy.ipynb): submit one", None),
    **{name: ("graded", 0) for name in (*CHEATS, *FILE_CHEATS)},
}
HARD_CODED = {nbgrader_meta(c)["grade_id"]: c.source  # the cheat's answer cells
              for c in CHEATS["cheat_hard_coded"].cells if nbgrader_meta(c).get("solution") and c.cell_type == "code"}
EXPECTED["cheat_hard_coded"] = ("graded", AUTO_POINTS - sum(
    graded_tests()[g] for g in failed_tests(answers=HARD_CODED)))  # what the hidden calls leave it


def write_batch(root, batch):
    for student, content in batch.items():
        path = root / student / "dropout.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(content if isinstance(content, str) else nbformat.writes(content))
    return root


def grade(submissions, out, *extra, env=None):
    return subprocess.run(grade_command(submissions, out, *extra), cwd=ROOT, capture_output=True, text=True, env=env)


def grade_command(submissions, out, *extra):
    return [sys.executable, "-m", "autograder", "grade", str(submissions), "--out", str(out), "--cell-timeout", "3", *extra]


def rows_of(out):
    with open(out / "grades.csv") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def write_full_batch(root, out):
    """Every kind of submission of EXPECTED in root, the file cheats aimed at out; return the notebooks."""
    batch = {**BATCH, **file_cheats(root, out)}
    write_batch(root, batch)
    (root / "empty_folder").mkdir()
    (root / "renamed").mkdir()
    nbformat.write(completed(), root / "renamed" / "dropout (2).ipynb")
    (root / "two_notebooks").mkdir()
    for name in ("dropout.ipynb", "dropout_copy.ipynb"):
        nbformat.write(completed(), root / "two_notebooks" / name)
    return batch


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Batch(NamedTuple):
    """The full batch, graded once for the tests of this module."""

    out: object  # the command's OUT folder
    result: subprocess.CompletedProcess
    notebooks: dict  # student -> submitted notebook (or text)
    root: object  # the submissions folder
    before: dict  # path -> digest of each submitted notebook before grading
    temporary: object  # the command's TMPDIR


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root, out = tmp_path_factory.mktemp("batch") / "submissions", tmp_path_factory.mktemp("graded") / "out"
    batch = write_full_batch(root, out)
    before = {path: digest(path) for path in root.rglob("*.ipynb")}
    temporary = tmp_path_factory.mktemp("tmpdir")  # the command's TMPDIR: kernels' and workers' folders
    result = grade(root, out, env={**os.environ, "TMPDIR": str(temporary)})
    assert result.returncode == 0, result.stderr[-3000:]
    return Batch(out, result, batch, root, before, temporary)


def test_every_submission_gets_its_status_and_score(graded):
    rows = rows_of(graded.out)
    assert sorted(rows) == sorted(EXPECTED)
    for student, (status, points) in EXPECTED.items():
        row = rows[student]
        assert row["status"] == status, student
        auto = sum(float(row[g]) for g in graded_tests() if row[g] != "")
        assert (auto if points is not None else row["score"]) == (points if points is not None else ""), student
        assert row["max_score"] == "34"


def test_progress_and_summary_are_shown(graded):
    result = graded.result
    assert "grading: 100%" in result.stderr and "submission/s" in result.stderr
    assert f"graded {sum(1 for s, p in EXPECTED.values() if p is not None)} of {len(EXPECTED)}" in result.stdout


def test_feedback_for_graded_students_without_hidden_tests(graded):
    out = graded.out
    secrets = secret_fragments()
    batch = graded.notebooks
    for student, (_, points) in EXPECTED.items():
        page = out / "feedback" / student / "dropout.html"
        assert page.exists() == (points is not None), student
        if page.exists():
            text = page.read_text()
            own = batch[student] if isinstance(batch.get(student), str) else nbformat.writes(batch.get(student, completed()))
            assert "HIDDEN TESTS" not in text
            leaked = [s for s in secrets if s in text and s not in own]  # a student may see their own code
            assert not leaked, f"{student}'s feedback shows solution or hidden-test lines: {leaked[:3]}"
    stubs = (out / "feedback" / "stubs" / "dropout.html").read_text()
    assert "NotImplementedError" in stubs


def test_feedback_reads_offline_with_its_equations_typeset(graded, browser):
    page = browser.new_page()
    fetched, errors = [], []
    page.on("request", lambda request: fetched.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    feedback = graded.out / "feedback" / "solution" / "dropout.html"
    page.goto(feedback.as_uri())
    # MathML, typeset by the browser itself: each equation is laid out as a box of its own
    typeset = page.evaluate("() => [...document.querySelectorAll('math')].filter(m => m.getBoundingClientRect()"
                            ".height > 5 && m.firstElementChild.getBoundingClientRect().width > 2).length")
    failed = page.evaluate("() => document.querySelectorAll('merror, code.tex').length")
    page.close()
    assert [url for url in fetched if not url.startswith("file:")] == [], "the feedback page fetches from the network"
    assert errors == [] and failed == 0
    assert feedback.stat().st_size <= 300_000, f"the feedback page has {feedback.stat().st_size} bytes"
    equations = sum(len(re.findall(r"\$\$.+?\$\$|\$[^$\n]+\$", cell.source, re.S))
                    for cell in RELEASED.cells if cell.cell_type == "markdown")
    assert typeset == equations > 0, f"{typeset} of the notebook's {equations} equations typeset"


def test_report_and_course_for_nbgrader(graded):
    out = graded.out
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 2
    attention = report[report.index('id="attention"'):]
    for student, (status, _) in EXPECTED.items():
        assert (f"<td>{student}</td>" in attention) == (status != "graded"), student
    assert (out / "course" / "gradebook.db").exists() and (out / "course" / "nbgrader_config.py").exists()


def test_student_code_reaches_no_file_outside_its_folder(graded):
    out, root, before = graded.out, graded.root, graded.before
    assert {path: digest(path) for path in root.rglob("*.ipynb")} == before, "a submission was changed"
    assert not (out / "planted.txt").exists() and not (ROOT / "planted.txt").exists()
    assert "planted" not in (out / "course" / "source" / "dropout" / "dropout.ipynb").read_text()
    with Gradebook(f"sqlite:///{out / 'course' / 'gradebook.db'}") as gradebook:
        assert all(grade.auto_score != 99 for student in gradebook.students for submission in student.submissions
                   for notebook in submission.notebooks for grade in notebook.grades)


def test_no_temporary_folder_is_left_behind(graded):
    """Every kernel's folder (also of kernels a submission killed), every worker's course copy and scratch folder."""
    left = sorted(p.name for p in graded.temporary.iterdir())
    assert left == [], f"left in TMPDIR after grading: {left}"


def test_regrading_gives_identical_grades(tmp_path):
    batch = write_batch(tmp_path / "small", {k: BATCH[k] for k in ("solution", "stubs", "cs231n_seed")})
    first, second = grade(batch, tmp_path / "first"), grade(batch, tmp_path / "second")
    assert first.returncode == second.returncode == 0
    assert (tmp_path / "first" / "grades.csv").read_text() == (tmp_path / "second" / "grades.csv").read_text()


LOOK_AND_MARK = """\
import builtins, os
seen = [name for name in os.listdir(".") if name.startswith("mark-")] + (["builtins"] if hasattr(builtins, "mark") else [])
builtins.mark = True
with open("mark-{0}", "w") as handle:
    handle.write("{0}")
print("seen", seen, "checks here", os.path.exists("dropout_checks.py"), "marked", os.path.exists("mark-{0}"))
"""


def test_each_student_has_a_fresh_kernel_and_folder(tmp_path):
    """Kernels start ahead of their notebook, but no student sees another's files or Python state."""
    students = ("first", "second", "third")
    batch = write_batch(tmp_path / "batch", {name: with_extra_cell(LOOK_AND_MARK.format(name)) for name in students})
    assert grade(batch, tmp_path / "out", "--workers", "1").returncode == 0
    for name in students:
        nb = nbformat.read(tmp_path / "out" / "course" / "autograded" / name / "dropout" / "dropout.ipynb", as_version=4)
        assert nb.cells[-1].outputs[0].text == "seen [] checks here True marked True\n", name


def test_bad_invocations_are_refused_clearly(tmp_path):
    missing = grade(tmp_path / "nowhere", tmp_path / "out")
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "grades.csv").write_text("keep me")
    taken = grade(tmp_path / "nowhere", tmp_path / "taken")
    assert taken.returncode != 0 and "--force" in taken.stderr
    assert (tmp_path / "taken" / "grades.csv").read_text() == "keep me"
    usage = subprocess.run([sys.executable, "-m", "autograder", "grade", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert usage.returncode == 0 and "flat folder of <student_id>.ipynb" in usage.stdout and "--scheduler" in usage.stdout
    one = write_batch(tmp_path / "one", {"stubs": RELEASED})
    no_workers = grade(one, tmp_path / "none", "--workers", "0")
    assert no_workers.returncode == 2 and "--workers must be at least 1" in no_workers.stderr
    nobody = grade(one, tmp_path / "nobody", "--scheduler", "tcp://127.0.0.1:9")
    assert nobody.returncode != 0 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in nobody.stderr


def test_hard_coding_the_visible_checks_gains_nothing():
    assert failed_tests(EXERCISE, answers=HARD_CODED) == {}, "the cheat should pass every visible check"
    assert EXPECTED["cheat_hard_coded"][1] <= AUTO_POINTS - 10, "the hidden calls should cost it most forward points"


def test_a_submission_over_its_time_is_stopped_and_reported(tmp_path):
    slow = completed()
    for _ in range(3):  # each cell within the 3 s cell limit, all of them over the submission's 5 s
        slow.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(2.5)"))
    batch = write_batch(tmp_path / "slow", {"slow": slow, "solution": completed()})
    result = grade(batch, tmp_path / "out", "--submission-timeout", "5")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = rows_of(tmp_path / "out")
    assert rows["slow"]["status"] == "grading stopped after 5 s" and rows["slow"]["score"] == ""
    assert rows["solution"]["status"] == "graded"
