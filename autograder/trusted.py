"""nbgrader's Execute, with the tests decided where student code cannot reach them.

The notebook runs in the student's kernel as usual, but with its test cells emptied, so
hidden tests never enter a process the student's code controls. Each test cell is then
run in the grading process, against the course's own checks, calling the student's
functions in a sandbox process (autograder.sandbox). Its outcome becomes the cell's
output, which nbgrader's SaveAutoGrades scores as usual: no output is full marks, an
error is zero.
"""

import builtins

import numpy as np
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute

from autograder import dropout_checks
from autograder.sandbox import Sandbox

TRUSTED = {"np": np, **{name: getattr(dropout_checks, name) for name in dir(dropout_checks) if not name.startswith("_")}}


def is_test(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def run_test(source, sandbox):
    """Run one test cell's code with the trusted checks; return its outputs (none when it passes)."""
    code = compile(source, "test", "exec")
    namespace = dict(TRUSTED)
    for name in code.co_names:
        if name not in namespace and not hasattr(builtins, name):
            namespace[name] = sandbox.function(name)
    try:
        exec(code, namespace)
    except Exception as error:  # noqa: BLE001 - a failed check, whatever its kind
        return [new_output("error", ename=type(error).__name__, evalue=str(error),
                           traceback=[f"{type(error).__name__}: {error}"])]
    return []


class TrustedExecute(Execute):
    """Execute the notebook without its tests, then decide every test outside the student's reach."""

    def preprocess(self, nb, resources):
        tests = {index: cell.source for index, cell in enumerate(nb.cells) if is_test(cell)}
        for index in tests:
            nb.cells[index].source = ""
        try:
            nb, resources = super().preprocess(nb, resources)
        finally:
            for index, source in tests.items():
                nb.cells[index].source = source
        code = [c.source for c in nb.cells if c.cell_type == "code" and not is_test(c)]
        with Sandbox(code, resources["metadata"]["path"], self.timeout) as sandbox:
            for index, source in tests.items():
                nb.cells[index].outputs = run_test(source, sandbox)
        return nb, resources
