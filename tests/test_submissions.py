"""Collecting submissions from any layout, and rebuilding each on the released notebook."""

import copy
import json
import zipfile

import nbformat
import pytest

from autograder.submissions import SubmissionsError, collect, edition, prepare, read_notebook, rebuild
from notebook_cells import EXERCISE, SOLUTION, failed_tests, nbgrader_meta

RELEASED = nbformat.read(EXERCISE, as_version=4)


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content)
    else:
        nbformat.write(content, path)
    return path


def solution():
    """What a student who solved the exercise submits: the released notebook, answers filled in."""
    answers = by_id(nbformat.read(SOLUTION, as_version=4))
    nb = copy.deepcopy(RELEASED)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("solution"):
            cell.source = answers[nbgrader_meta(cell)["grade_id"]].source
    return nb


def by_id(nb):
    return {nbgrader_meta(c)["grade_id"]: c for c in nb.cells if nbgrader_meta(c).get("grade_id")}


@pytest.fixture
def folders(tmp_path):
    root = tmp_path / "submissions"
    write(root / "alice" / "dropout" / "dropout.ipynb", solution())
    (root / "bob").mkdir(parents=True)
    write(root / "carol" / "a.ipynb", solution())
    write(root / "carol" / "b.ipynb", solution())
    write(root / "dave" / "my dropout (1).ipynb", solution())
    write(root / "erin" / "dropout.ipynb", "{ not json")
    write(root / "erin" / ".ipynb_checkpoints" / "dropout-checkpoint.ipynb", solution())
    write(root / ".DS_Store", "")
    return root


def test_folder_layout(folders, tmp_path):
    found = {s.student_id: s for s in collect(folders, tmp_path)}
    assert list(found) == ["alice", "bob", "carol", "dave", "erin"]
    assert found["alice"].notebook.name == "dropout.ipynb" and not found["alice"].problem
    assert found["bob"].problem == "no notebook in the student's folder"
    assert found["carol"].problem == "2 notebooks (a.ipynb, b.ipynb): submit one"
    assert found["dave"].remarks == ["notebook was named my dropout (1).ipynb"]
    assert found["erin"].notebook.name == "dropout.ipynb", "checkpoints are not submissions"


def test_flat_layout(tmp_path):
    root = tmp_path / "flat"
    write(root / "zoe.ipynb", solution())
    write(root / "yann.ipynb", "[]")
    write(root / "notes.txt", "not a submission")
    assert [(s.student_id, s.notebook.name) for s in collect(root, tmp_path)] == [("yann", "yann.ipynb"), ("zoe", "zoe.ipynb")]


@pytest.mark.parametrize("wrapped", [False, True])
def test_zip_of_either_layout(folders, tmp_path, wrapped):
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folders.rglob("*")):  # folders too, as zip tools store them
            zf.write(path, path.relative_to(folders.parent if wrapped else folders).as_posix())
    assert [s.student_id for s in collect(archive, tmp_path)] == ["alice", "bob", "carol", "dave", "erin"]


def test_bad_batches_are_refused_with_a_reason(tmp_path):
    slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(slip, "w") as zf:
        zf.writestr("../outside.ipynb", "{}")
    broken = write(tmp_path / "broken.zip", "not a zip")
    for bad, reason in [(slip, "outside its folder"), (broken, "not a valid zip"),
                        (tmp_path / "missing", "does not exist"), (write(tmp_path / "a.csv", "x"), "not a .zip")]:
        with pytest.raises(SubmissionsError, match=reason):
            collect(bad, tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SubmissionsError, match="no student folders"):
        collect(tmp_path / "empty", tmp_path)


@pytest.mark.parametrize("content, reason", [
    ("{ not json", "not a notebook: invalid JSON"),
    ("[1, 2]", "not a notebook: JSON without an nbformat version"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": "oops"}), "not a notebook"),
])
def test_unreadable_notebooks_say_why(tmp_path, content, reason):
    with pytest.raises(ValueError, match=reason):
        read_notebook(write(tmp_path / "x.ipynb", content))


def test_old_nbformat_is_converted(tmp_path):
    old = write(tmp_path / "old.ipynb", nbformat.writes(nbformat.convert(solution(), 3)))
    nb, remarks = read_notebook(old)
    assert remarks == ["converted from nbformat 3"]
    rebuilt, _ = rebuild(nb, RELEASED)
    assert failed_tests_of(rebuilt, tmp_path) == {}


def failed_tests_of(nb, tmp_path):
    path = tmp_path / "graded" / "dropout.ipynb"
    write(path, nb)
    (path.parent / "dropout_checks.py").write_text((EXERCISE.parent / "dropout_checks.py").read_text())
    return failed_tests(path)


def test_rebuilt_solution_keeps_answers_and_released_tests(tmp_path):
    rebuilt, remarks = rebuild(solution(), RELEASED)
    assert remarks == []
    cells, released, answers = by_id(rebuilt), by_id(RELEASED), by_id(solution())
    for grade_id, cell in cells.items():
        expected = answers if nbgrader_meta(cell).get("solution") else released
        assert cell.source == expected[grade_id].source
    assert failed_tests_of(rebuilt, tmp_path) == {}


def test_tampered_tests_are_restored_and_reported(tmp_path):
    nb = solution()
    cells = by_id(nb)
    nb.cells.remove(cells["test_forward_kept_fraction"])
    nb.cells.insert(5, copy.deepcopy(cells["test_forward_mask_values"]))
    cells["test_forward_test_mode"].source = "pass"
    cells["setup"].source += "\ncheck_output_shape = lambda *args, **kwargs: None"
    helper = nbformat.v4.new_code_cell("def keep_mask(rng, shape, p):\n    return rng.random(shape) < p")
    nb.cells.insert(nb.cells.index(cells["dropout_forward"]), helper)

    rebuilt, remarks = rebuild(nb, RELEASED)
    assert remarks == ["deleted cells restored: test_forward_kept_fraction",
                       "duplicated cells restored: test_forward_mask_values",
                       "edited cells restored: setup, test_forward_test_mode"]
    assert by_id(rebuilt).keys() == by_id(RELEASED).keys()
    assert len(rebuilt.cells) == len(RELEASED.cells) + 1
    kept = [c for c in rebuilt.cells if c.source == helper.source]
    assert kept and "nbgrader" not in kept[0].metadata
    assert failed_tests_of(rebuilt, tmp_path) == {}


def test_prepare_writes_the_gradable_notebook(folders, tmp_path):
    found = {s.student_id: s for s in collect(folders, tmp_path)}
    target = tmp_path / "out" / "dave" / "dropout" / "dropout.ipynb"
    assert prepare(found["dave"], {"en": RELEASED}, target) == ("en", ["notebook was named my dropout (1).ipynb"])
    assert nbformat.read(target, as_version=4).cells
    for student, reason in [("bob", "no notebook"), ("erin", "invalid JSON")]:
        with pytest.raises(ValueError, match=reason):
            prepare(found[student], {"en": RELEASED}, tmp_path / "out" / student / "dropout.ipynb")


EDITIONS = {"en": RELEASED, "ko": nbformat.read(EXERCISE.parent / "ko" / "dropout.ipynb", as_version=4)}


def test_each_notebook_is_rebuilt_on_the_released_notebook_of_its_language():
    korean = copy.deepcopy(EDITIONS["ko"])
    assert edition(korean, EDITIONS) == "ko" and edition(RELEASED, EDITIONS) == "en"
    del korean.metadata["lang"]  # a front end that drops metadata: the read-only cells still tell
    assert edition(korean, EDITIONS) == "ko"
    rebuilt, remarks = rebuild(korean, EDITIONS["ko"])
    assert remarks == [] and rebuilt.metadata["lang"] == "ko"
    english_cells = copy.deepcopy(RELEASED)
    english_cells.metadata["lang"] = "ko"  # the cells outweigh the metadata
    assert edition(english_cells, EDITIONS) == "en"


def test_a_notebook_with_no_read_only_cell_left_goes_by_its_metadata():
    nb = copy.deepcopy(EDITIONS["ko"])
    nb.cells = [c for c in nb.cells if nbgrader_meta(c).get("solution")]
    assert edition(nb, EDITIONS) == "ko"
    del nb.metadata["lang"]
    assert edition(nb, EDITIONS) == "en"
