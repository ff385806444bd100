"""The student's functions, called in a child of their confined kernel, pass only plain data back."""

import os
import time
from contextlib import contextmanager

import numpy as np
import psutil
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from autograder.sandbox import Handle, Sandbox, decode
from autograder.trusted import ConfinedKernelManager
from conftest import ROOT

STUDENT = '''
import numpy as np

class Anything:
    def __eq__(self, other):
        return True

def fake():
    return Anything()

def subclass():
    class Liar(np.ndarray):
        def __eq__(self, other):
            return np.ones(self.shape, bool)
    return np.zeros(3).view(Liar)

def scale_in_place(x, param):
    x *= 2
    param["touched"] = True
    return None

def broken(p):
    raise ValueError(f"bad p {p}")

def exotic():
    raise ImportError("no such thing")

def forever():
    while True:
        pass

def leave():
    import os
    os._exit(0)

def echo(value):
    return value

def stubborn():
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass

made = []

def count(value):
    made.append(value)
    if value == "stop":
        raise ValueError("stopped at stop")
    if value == "hang":
        while True:
            pass
    return len(made)

def calls_made():
    return made

np.array_equal = lambda *a, **k: True   # only ever inside the sandbox
'''


@contextmanager
def student_functions(code, folder, timeout):
    """A Sandbox on a confined kernel (in folder) that has run code, as the grader has it after the notebook."""
    nb = new_notebook(cells=[new_code_cell(code)])
    client = NotebookClient(nb, kernel_manager_class=ConfinedKernelManager, shutdown_kernel="immediate",
                            resources={"metadata": {"path": str(folder)}})
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        with Sandbox(client.kc, client.km.runtime, timeout) as box:
            box.km = client.km
            yield box


def student_processes(km, wait=2):
    """The Python processes of a confined kernel (the kernel and its children), once ended ones are gone."""
    deadline = time.monotonic() + wait
    while True:
        tree = psutil.Process(km.provisioner.process.pid).children(recursive=True)
        found = [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE and "python" in p.name()]
        if len(found) <= 1 or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.fixture
def sandbox(tmp_path):
    with student_functions(STUDENT, tmp_path, timeout=2) as box:
        yield box


def test_objects_come_back_as_opaque_handles(sandbox):
    value = sandbox.function("fake")()
    assert isinstance(value, Handle) and value != 1 and not np.array_equal(np.asarray(value, dtype=object), [1])
    assert type(value).__name__ == "Anything", "a check names the student's type, as for the object itself"


def test_array_subclasses_come_back_as_plain_arrays(sandbox):
    value = sandbox.function("subclass")()
    assert type(value) is np.ndarray and not np.array_equal(value, np.ones(3))


def test_patching_numpy_in_the_sandbox_changes_nothing_here(sandbox):
    sandbox.function("echo")(1)
    assert not np.array_equal(np.zeros(2), np.ones(2))


def test_in_place_changes_are_reflected(sandbox):
    x, param = np.ones(3), {"p": 0.5}
    sandbox.function("scale_in_place")(x, param)
    assert x.tolist() == [2, 2, 2] and param == {"p": 0.5, "touched": True}


def test_calls_made_together_answer_in_turn_and_stop_at_the_first_that_raises(sandbox):
    """Sandbox.each makes many calls in one exchange, as they would be made one by one."""
    results = sandbox.function("count").each([(1,), (2,), ("stop",), (4,)])
    assert next(results) == 1 and next(results) == 2
    with pytest.raises(ValueError, match="stopped at stop"):
        next(results)
    assert sandbox.function("calls_made")() == [1, 2, "stop"], "no call is made after one that raised"
    assert list(sandbox.function("count").each([])) == [] and sandbox.function("calls_made")() == [1, 2, "stop"]


def test_calls_made_together_show_each_ones_in_place_changes(sandbox):
    first, second = np.ones(3), np.ones(2)
    assert list(sandbox.function("scale_in_place").each([(first, {}), (second, {})])) == [None, None]
    assert first.tolist() == [2, 2, 2] and second.tolist() == [2, 2]


def test_a_call_that_hangs_among_calls_made_together_times_out_in_its_turn(sandbox):
    results = sandbox.function("count").each([(1,), ("hang",), (3,)])
    assert next(results) == 1
    with pytest.raises(TimeoutError, match="count never returned: stopped after 2 s"):
        next(results)
    assert sandbox.function("calls_made")() == [], "a new child, forked from the kernel, holds no earlier calls"


def test_round_trip_of_plain_data(sandbox):
    value = {"p": 0.5, "seed": 3, "mode": "train", "arrays": (np.arange(3), np.array([True, False]))}
    back = sandbox.function("echo")(value)
    assert back["p"] == 0.5 and back["seed"] == 3 and back["arrays"][1].dtype == bool
    assert type(back["arrays"]) is tuple and back["arrays"][0].tolist() == [0, 1, 2]


def test_shared_and_circular_values_keep_their_sharing(sandbox):
    """Layers handed one dict come back with one dict, so a check sees `[dict(param)] * n` for what it is."""
    param, loop = {"p": 0.5}, []
    loop.append(loop)
    back = sandbox.function("echo")([param, param, {"p": 0.5}, loop])
    assert back[0] is back[1] and back[2] is not back[0] and back[3][0] is back[3]
    with pytest.raises(ValueError, match="malformed"):
        decode([{"__same__": 7}], [])


def test_exceptions_keep_builtin_kinds_only(sandbox):
    with pytest.raises(ValueError, match="bad p 7"):
        sandbox.function("broken")(7)
    with pytest.raises(RuntimeError, match="ImportError: no such thing"):
        sandbox.function("exotic")()
    with pytest.raises(NameError):
        sandbox.function("missing")()


def test_a_hung_call_times_out_once_and_the_next_call_works(sandbox):
    with pytest.raises(TimeoutError, match="forever never returned: stopped after 2 s"):
        sandbox.function("forever")()
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="never returned in an earlier check .* not called again"):
        sandbox.function("forever")(1)
    assert time.monotonic() - start < 1, "a function that never returned is not waited for again"
    assert sandbox.function("echo")(5) == 5


def test_a_process_that_exits_is_reported_and_restarted(sandbox):
    with pytest.raises(RuntimeError, match="stopped"):
        sandbox.function("leave")()
    assert sandbox.function("echo")("again") == "again"


FORGER = '''
import inspect, os
from autograder.sandbox import _send

def forge(reply):
    """Answer the grader with reply, in place of the sandbox's own answer, and stop."""
    fd = next(frame.frame.f_locals["fd"] for frame in inspect.stack() if "fd" in frame.frame.f_locals)
    _send(fd, reply)
    os._exit(0)

def echo(value):
    return value
'''


@pytest.mark.parametrize("reply", [[1], {"replies": [5]}, {"replies": []}, {"replies": [{"returned": 1}]},
                                   {"replies": [{"changed": [], "returned": 1}]},
                                   {"replies": [{"changed": {"__dict__": {"7": 1}}, "returned": 1}]},
                                   {"replies": [{"changed": {"__dict__": {}}, "raised": "ValueError"}]},
                                   {"replies": [{"changed": {"__dict__": {}}, "returned": {"__array__": 3}}]}],
                         ids=["not a dict", "an item not a dict", "no item", "no changes", "changes not a dict",
                              "a change of no argument", "raised not a pair", "an array of no buffer"])
def test_a_reply_that_is_not_the_sandboxs_fails_its_call_clearly_and_the_next_call_works(tmp_path, reply):
    with student_functions(FORGER, tmp_path, timeout=2) as box:
        with pytest.raises(RuntimeError, match="something other than the reply to the call"):
            box.function("forge")(reply)
        assert box.function("echo")(7) == 7


def test_a_call_that_ignores_its_time_limit_is_abandoned_and_the_next_call_works(sandbox):
    with pytest.raises(TimeoutError, match="stubborn never returned: stopped after 7 s"):
        sandbox.function("stubborn")()
    assert len(student_processes(sandbox.km)) == 1, "the child stuck in the loop still runs"
    assert sandbox.function("echo")(6) == 6


def test_a_kernel_that_cannot_answer_fails_every_check_quickly(tmp_path):
    with student_functions("import os\nos.fork = None\ndef echo(v):\n    return v", tmp_path, timeout=2) as box:
        with pytest.raises(RuntimeError, match="kernel stopped answering"):
            box.function("echo")(1)
        start = time.monotonic()
        with pytest.raises(RuntimeError, match="kernel stopped answering"):
            box.function("echo")(2)
        assert time.monotonic() - start < 1


PROBE = '''
import os

def read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError as error:
        return type(error).__name__

def write(path):
    try:
        with open(path, "w") as handle:
            handle.write("planted")
        return "written"
    except OSError as error:
        return type(error).__name__

def who():
    return os.getuid(), os.getcwd()

def flood():
    import numpy as np
    return np.zeros(40 * 2**20)  # 320 MiB
'''


def test_the_sandbox_sees_and_writes_only_its_own_folder(tmp_path):
    secret = tmp_path / "hidden_tests.txt"
    secret.write_text("### BEGIN HIDDEN TESTS")
    own = tmp_path / "student"
    own.mkdir()
    with student_functions(PROBE, own, timeout=5) as box:
        assert box.function("read")(str(secret)) == "FileNotFoundError"
        assert box.function("read")(os.path.expanduser("~/.bashrc")) == "FileNotFoundError"
        box.function("write")(str(tmp_path / "planted.txt"))
        box.function("write")(str(ROOT / "planted.txt"))
        assert box.function("write")("mine.txt") == "written"
        assert box.function("who")() == (65534, str(own))
    assert not (tmp_path / "planted.txt").exists() and not (ROOT / "planted.txt").exists()
    assert (own / "mine.txt").read_text() == "planted"


def test_too_much_data_is_refused_and_the_grader_goes_on(tmp_path):
    with student_functions(PROBE, tmp_path, timeout=5) as box:
        with pytest.raises(ValueError, match="more than 256 MiB"):
            box.function("flood")()
        assert box.function("who")()[0] == 65534
