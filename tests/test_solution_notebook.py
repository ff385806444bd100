"""The master notebook runs top to bottom in a real kernel, and its demonstrations show what they claim."""

import re

from autograder.dropout_checks import CHECKS
from autograder.notebooks import execute
from notebook_cells import SOLUTION, nbgrader_meta


def outputs_of(nb, grade_id):
    (cell,) = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id]
    return "".join(o.get("text", "") for o in cell.outputs)


def test_solution_notebook_runs_and_its_demos_agree():
    nb = execute(SOLUTION)
    backward = float(re.search(r"relative error: (\S+)", outputs_of(nb, "try_backward")).group(1))
    assert backward < 1e-8
    network = [float(v) for v in re.findall(r"relative error (\S+)", outputs_of(nb, "try_network_gradient"))]
    assert len(network) == 8 and max(network) < 1e-5, network
    masks = re.split(r"layer \d keeps", outputs_of(nb, "try_layers"))[1:]
    assert len(masks) == 3 and len(set(masks)) == 3, "the three layers of the seed case should keep different units"
    assert outputs_of(nb, "summary").startswith(f"All {len(CHECKS)} self-checks pass."), outputs_of(nb, "summary")
