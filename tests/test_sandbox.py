"""The sandbox passes only plain data back, however the student's code behaves."""

import os

import numpy as np
import pytest

from autograder.sandbox import Handle, Sandbox
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

np.array_equal = lambda *a, **k: True   # only ever inside the sandbox
'''


@pytest.fixture
def sandbox(tmp_path):
    with Sandbox([STUDENT], tmp_path, timeout=2) as box:
        yield box


def test_objects_come_back_as_opaque_handles(sandbox):
    value = sandbox.function("fake")()
    assert isinstance(value, Handle) and value != 1 and not np.array_equal(np.asarray(value, dtype=object), [1])


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


def test_round_trip_of_plain_data(sandbox):
    value = {"p": 0.5, "seed": 3, "mode": "train", "arrays": (np.arange(3), np.array([True, False]))}
    back = sandbox.function("echo")(value)
    assert back["p"] == 0.5 and back["seed"] == 3 and back["arrays"][1].dtype == bool
    assert type(back["arrays"]) is tuple and back["arrays"][0].tolist() == [0, 1, 2]


def test_exceptions_keep_builtin_kinds_only(sandbox):
    with pytest.raises(ValueError, match="bad p 7"):
        sandbox.function("broken")(7)
    with pytest.raises(RuntimeError, match="ImportError: no such thing"):
        sandbox.function("exotic")()
    with pytest.raises(NameError):
        sandbox.function("missing")()


def test_a_hung_call_times_out_and_the_next_call_works(sandbox):
    with pytest.raises(TimeoutError, match="longer than 2 s"):
        sandbox.function("forever")()
    assert sandbox.function("echo")(5) == 5


def test_a_process_that_exits_is_reported_and_restarted(sandbox):
    with pytest.raises(RuntimeError, match="stopped"):
        sandbox.function("leave")()
    assert sandbox.function("echo")("again") == "again"


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
    with Sandbox([PROBE], own, timeout=5) as box:
        assert box.function("read")(str(secret)) == "FileNotFoundError"
        assert box.function("read")(os.path.expanduser("~/.bashrc")) == "FileNotFoundError"
        box.function("write")(str(tmp_path / "planted.txt"))
        box.function("write")(str(ROOT / "planted.txt"))
        assert box.function("write")("mine.txt") == "written"
        assert box.function("who")() == (65534, str(own))
    assert not (tmp_path / "planted.txt").exists() and not (ROOT / "planted.txt").exists()
    assert (own / "mine.txt").read_text() == "planted"


def test_too_much_data_is_refused_and_the_grader_goes_on(tmp_path):
    with Sandbox([PROBE], tmp_path, timeout=5) as box:
        with pytest.raises(ValueError, match="more than 256 MiB"):
            box.function("flood")()
        assert box.function("who")()[0] == 65534
