"""The exercise runs in a student's plain Jupyter, on the oldest and the newest NumPy we support.

A student installs only NumPy and a notebook front end. The oldest pairing is NumPy 1.21 on Python 3.10
(Ubuntu 22.04's Python; the first NumPy with wheels for it), the newest is the locked NumPy on the newest
supported Python. The master notebook runs top to bottom in each (its self-checks and hidden tests included),
in an environment with nothing but NumPy, ipykernel and nbclient.
"""

import shutil
import subprocess
import tomllib

import nbformat
import pytest

from conftest import ROOT
from pythons import SUPPORTED, UV, find_python, uv_env

LOCKED_NUMPY = next(p["version"] for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]
                    if p["name"] == "numpy")
OLDEST, NEWEST = ("3.10", "1.21.6"), (SUPPORTED[-1], LOCKED_NUMPY)


@pytest.mark.parametrize("python_version, numpy_version", [OLDEST, NEWEST], ids=["oldest", "newest"])
def test_exercise_runs_on_a_students_numpy(tmp_path, python_version, numpy_version):
    python = find_python(python_version)
    env = tmp_path / "env"
    for step in (["venv", "--quiet", "--python", python, env],
                 ["pip", "install", "--quiet", "--python", env / "bin" / "python",
                  f"numpy=={numpy_version}", "ipykernel", "nbclient"]):
        result = subprocess.run([UV, *step], env=uv_env(), capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    exercise = tmp_path / "dropout"
    shutil.copytree(ROOT / "solutions" / "dropout", exercise)
    notebook = nbformat.read(exercise / "dropout.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import numpy, sys\nprint(numpy.__version__, sys.version_info[:2])"))
    nbformat.write(notebook, exercise / "dropout.ipynb")
    run = subprocess.run([env / "bin" / "jupyter-execute", "--inplace", "dropout.ipynb"], cwd=exercise,
                         env={**uv_env(), "PATH": f"{env / 'bin'}:/usr/bin:/bin"}, capture_output=True, text=True)
    assert run.returncode == 0, f"the notebook failed with NumPy {numpy_version} on Python {python_version}:\n" \
                                f"{run.stderr[-4000:]}"
    last = nbformat.read(exercise / "dropout.ipynb", as_version=4).cells[-1]
    major, minor = python_version.split(".")
    assert last.outputs[0]["text"].strip() == f"{numpy_version} ({major}, {minor})", "ran in another kernel"


def test_exercise_page_states_the_tested_range():
    """The exercise page names the oldest Python and NumPy that the test above runs the notebook on."""
    (python_version, numpy_version), page = OLDEST, (ROOT / "book" / "exercise.md").read_text()
    numpy_minor = ".".join(numpy_version.split(".")[:2])
    assert f"NumPy {numpy_minor} or newer on Python {python_version} or newer" in " ".join(page.split())
