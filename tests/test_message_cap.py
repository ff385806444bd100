"""No message of a student's kernel over TrustedExecute.message_bytes reaches the grading process.

Each notebook is run by TrustedExecute, as nbgrader's autograde runs it, in a Python of its
own whose peak memory (VmHWM) is then read: a message of 96 MiB that reached it whole
would take at least twice that much there (its bytes, then its text).
"""

import json
import subprocess
import sys
import textwrap

import pytest

from autograder.cgroups import unavailable
from autograder.outputs import is_too_large_mark

pytestmark = pytest.mark.skipif(bool(unavailable()), reason="; ".join(unavailable()))  # the kernel needs its caps

RUN = textwrap.dedent(r"""
    import json, re, sys
    import nbformat

    def peak_kb():  # this process's own peak: ru_maxrss would carry over the test run's, across fork and exec
        return int(re.search(r"VmHWM:\s+(\d+) kB", open("/proc/self/status").read()).group(1))
    from autograder.trusted import TrustedExecute, outcome
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_code_cell(source) for source in json.loads(sys.argv[1])]
    error = None
    try:
        TrustedExecute(timeout=30, submission_timeout=120, allow_errors=True).preprocess(nb, {})
    except Exception as raised:
        error = type(raised).__name__
    print(json.dumps({"outputs": [cell.outputs for cell in nb.cells], "breaches": outcome().breaches, "error": error,
                      "peak_mb": peak_kb() / 1024}))
""")
HUGE = 96 * 2**20
TAMPERED = ("k = get_ipython().kernel\n"  # a display message the kernel's own code would never make
            "k.session.send(k.iopub_socket, 'display_data', {'data': {'text/plain': 'x' * %d}, 'metadata': {}},"
            " parent=k.get_parent(), ident=b'display_data')" % HUGE)


def run(*cells):
    result = subprocess.run([sys.executable, "-c", RUN, json.dumps(cells)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("huge", [f"print('x' * {HUGE})", f"from IPython.display import display\n"
                                  f"display({{'image/png': 'A' * {HUGE}}}, raw=True)", TAMPERED],
                         ids=["print", "display", "tampered_kernel"])
def test_one_huge_message_costs_its_cell_only(huge):
    """The cell that sent it gets a new kernel and a mark; the cells before run again, the cells after as usual."""
    found = run("x = 41", f"y = 1\n{huge}", "print(x + 1, 'y' in dir())")
    assert found["error"] is None
    first, sender, after = found["outputs"]
    assert [is_too_large_mark(o) for o in sender] == [True], sender
    assert "32 MiB in one message" in sender[0]["data"]["text/plain"]
    assert after == [{"output_type": "stream", "name": "stdout", "text": "42 False\n"}], after
    assert found["breaches"] == ["sent more than 32 MiB in one message"]
    assert found["peak_mb"] < 200, f"the grading process held {found['peak_mb']:.0f} MiB: the message reached it"


def test_a_kernel_that_sends_too_much_again_is_stopped():
    """A second such message, from a cell after the new kernel's: no endless restarts, the notebook fails."""
    found = run(f"print('x' * {HUGE})", f"print('x' * {HUGE})")
    assert found["error"] == "DeadKernelError"
    assert found["breaches"] == ["sent more than 32 MiB in one message"]
    assert found["peak_mb"] < 200
