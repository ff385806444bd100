"""--submission-timeout bounds all that one submission costs: its run, nbgrader's processing and its feedback.

What costs most after the run is rendering the output kept: nbconvert's ANSI colours and
Markdown take seconds per MiB (a minute for this notebook's, before). So the notebook's cells
keep 2 MiB of output together (twice --output-kb), only so much of it is rendered richly
(autograder.outputs.Renderings), and the time the rest takes is reserved out of the timeout.
"""

import csv

import nbformat
import pytest

from autograder.cgroups import unavailable
from test_grade_command import AUTO_POINTS, completed, grade, rows_of, write_batch

pytestmark = pytest.mark.skipif(bool(unavailable()), reason="; ".join(unavailable()))

ANSI = "print('\\x1b[31mred\\x1b[0m \\x1b[1;42mbold\\x1b[0m ' * 30000)"  # 1 MiB, an escape code every 9 bytes
MARKDOWN = "from IPython.display import display\ndisplay({'text/markdown': '*a [b](c) **d ' * 70000}, raw=True)"
TIMEOUT = 30


def worst_case(sleeps):
    """The solution, then the output that is slowest to process, in as many cells as a student likes, then sleeps."""
    nb = completed()
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in [ANSI, MARKDOWN] * 4)
    nb.cells.extend(nbformat.v4.new_code_cell("import time\ntime.sleep(4)") for _ in range(sleeps))
    return nb


def test_the_slowest_output_to_process_keeps_a_submission_within_its_timeout(tmp_path):
    out = tmp_path / "out"
    batch = write_batch(tmp_path / "submissions", {"ends_in_time": worst_case(2), "runs_out_of_time": worst_case(8)})
    result = grade(batch, out, "--workers", "2", "--cell-timeout", "10", "--submission-timeout", str(TIMEOUT))
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / "resources.csv", newline="") as handle:
        seconds = {row["student_id"]: float(row["seconds"]) for row in csv.DictReader(handle)}
    assert max(seconds.values()) < TIMEOUT + 8, seconds
    rows = rows_of(out)
    assert rows["runs_out_of_time"]["status"] == f"grading stopped after {TIMEOUT} s"
    assert rows["ends_in_time"]["status"] == "graded: printed more than 2 MiB in all its cells: output cut"
    assert float(rows["ends_in_time"]["score"]) == AUTO_POINTS
    assert (out / "feedback" / "ends_in_time" / "dropout.html").stat().st_size < 6 * 2**20
