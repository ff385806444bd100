"""Run the dropout notebook's cells in-process and report which graded test cells fail.

This mirrors what nbgrader's autograde does (run every cell in order, errors allowed,
a test cell passes when it raises nothing) so that many variants of the answer cells
can be checked in a fraction of a second each.
"""

import contextlib
import io
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "dropout" / "dropout.ipynb"
EXERCISE = ROOT / "exercises" / "dropout" / "dropout.ipynb"


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def graded_cells(path=SOLUTION):
    """grade_id -> cell, for the autograded test cells."""
    nb = nbformat.read(path, as_version=4)
    return {nbgrader_meta(c)["grade_id"]: c for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("grade")}


def graded_tests(path=SOLUTION):
    """grade_id -> points of the autograded test cells."""
    return {grade_id: nbgrader_meta(cell)["points"] for grade_id, cell in graded_cells(path).items()}


def answer_source(grade_id, path=SOLUTION):
    nb = nbformat.read(path, as_version=4)
    (cell,) = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id]
    return cell.source


def failed_tests(path=SOLUTION, answers=None):
    """Run the notebook with some answer cells replaced; return {grade_id: error} of failed tests."""
    nb = nbformat.read(path, as_version=4)
    answers = answers or {}
    namespace = {"__name__": "__main__"}
    failures = {}
    sys.path.insert(0, str(path.parent))
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            meta = nbgrader_meta(cell)
            source = answers.get(meta.get("grade_id"), cell.source)
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(source, meta.get("grade_id", "cell"), "exec"), namespace)
            except Exception as error:  # noqa: BLE001 - a failing cell is data here
                if meta.get("grade"):
                    failures[meta["grade_id"]] = f"{type(error).__name__}: {error}"
    finally:
        sys.path.remove(str(path.parent))
    return failures


def answer_functions(answers=None):
    """The functions defined by the solution's answer cells (some replaced), by name."""
    nb = nbformat.read(SOLUTION, as_version=4)
    answers = answers or {}
    namespace = {"np": __import__("numpy")}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("solution"):
            exec(answers.get(meta["grade_id"], cell.source), namespace)
    return namespace


def secret_fragments(path=SOLUTION, min_length=16):
    """Lines that students must never see: solution code, model answers, hidden tests.

    Lines that the notebook also shows outside those regions are public, not secret.
    """
    nb = nbformat.read(path, as_version=4)
    secret, public = set(), set()
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown" and meta.get("solution"):  # prose: whole lines only
            secret.update(line.strip() for line in cell.source.splitlines() if len(line.strip()) >= 40)
            continue
        inside = False
        for line in cell.source.splitlines():
            marker = line.strip()
            if marker in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
                inside = True
            elif marker in ("### END SOLUTION", "### END HIDDEN TESTS"):
                inside = False
            else:
                code = marker.split("  #")[0].rstrip()  # a line's code without its comment
                (secret if inside else public).update({marker, code})
    return sorted(f for f in secret - public if len(f) >= min_length and not f.startswith("#"))
