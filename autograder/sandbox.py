"""Call a student's functions in a separate process, passing only plain data back.

The grading process starts ``python -m autograder.sandbox``, sends it the notebook's code
cells, and then calls the functions those cells defined. Student code can change anything
in its own process (NumPy, the checks module, builtins); none of it reaches the grader.
Only JSON and NumPy arrays (read with ``allow_pickle=False``) come back; any other object
stays in the sandbox and is represented by an opaque handle.
"""

import base64
import builtins
import io
import json
import os
import select
import signal
import struct
import subprocess
import sys

import numpy as np

SAFE_EXCEPTIONS = {name: getattr(builtins, name) for name in (
    "ValueError", "TypeError", "KeyError", "IndexError", "AttributeError", "NameError",
    "NotImplementedError", "ZeroDivisionError", "RuntimeError", "MemoryError", "OverflowError", "TimeoutError")}
MARGIN = 5  # seconds the grader waits beyond the sandbox's own alarm, for code that blocks it


class Handle:
    """An object that lives in the sandbox; the grader can only pass it back."""

    def __init__(self, key):
        self.key = key

    def __repr__(self):
        return f"<object of the student's, #{self.key}>"


def _send(fd, message):
    data = json.dumps(message).encode()
    os.write(fd, struct.pack(">Q", len(data)))
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _receive(fd, timeout=None):
    def read(size):
        chunks = b""
        while len(chunks) < size:
            if timeout is not None and not select.select([fd], [], [], timeout)[0]:
                raise TimeoutError
            chunk = os.read(fd, size - len(chunks))
            if not chunk:
                raise EOFError
            chunks += chunk
        return chunks
    (size,) = struct.unpack(">Q", read(8))
    return json.loads(read(size))


def encode(value, handles=None):
    """Plain data as JSON; arrays as .npy; anything else as a handle (sandbox side only)."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        buffer = io.BytesIO()
        np.save(buffer, np.array(value), allow_pickle=False)
        return {"__array__": base64.b64encode(buffer.getvalue()).decode()}
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) in (list, tuple):
        items = [encode(v, handles) for v in value]
        return {"__tuple__": items} if type(value) is tuple else items
    if type(value) is dict and all(type(k) is str for k in value):
        return {"__dict__": {k: encode(v, handles) for k, v in value.items()}}
    if isinstance(value, Handle):
        return {"__handle__": value.key}
    if handles is None:
        raise TypeError(f"cannot send {type(value).__name__} to the sandbox")
    handles.append(value)
    return {"__handle__": len(handles) - 1}


def decode(value, handles=None):
    if isinstance(value, list):
        return [decode(v, handles) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        return np.load(io.BytesIO(base64.b64decode(value["__array__"])), allow_pickle=False)
    if "__tuple__" in value:
        return tuple(decode(v, handles) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: decode(v, handles) for k, v in value["__dict__"].items()}
    if "__handle__" in value:
        return handles[value["__handle__"]] if handles is not None else Handle(value["__handle__"])
    raise ValueError("malformed message from the sandbox")


class Sandbox:
    """The student's code in its own process; ``function(name)`` gives a callable proxy."""

    def __init__(self, cells, folder, timeout):
        self.cells, self.folder, self.timeout, self.process = cells, folder, timeout, None

    def _start(self):
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.sandbox", str(child_reads), str(child_writes), str(self.timeout)],
            cwd=self.folder, pass_fds=(child_reads, child_writes), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(child_reads)
        os.close(child_writes)
        self.send, self.receive = parent_writes, parent_reads
        _send(self.send, self.cells)
        self._reply(self.timeout * len(self.cells) + MARGIN)

    def _reply(self, timeout):
        try:
            return _receive(self.receive, timeout)
        except (TimeoutError, EOFError, ValueError, struct.error) as error:
            self.close()
            if isinstance(error, TimeoutError):
                raise TimeoutError(f"your code did not answer within {timeout} s") from None
            raise RuntimeError("your code's process stopped (it exited or crashed)") from None

    def call(self, name, args, kwargs):
        if self.process is None:
            self._start()
        _send(self.send, {"name": name, "args": encode(list(args)), "kwargs": encode(dict(kwargs))})
        reply = self._reply(self.timeout + MARGIN)
        for arg, after in zip(args, decode(reply["after"])):  # in-place changes, made visible
            if isinstance(arg, np.ndarray) and isinstance(after, np.ndarray) and after.shape == arg.shape:
                arg[...] = after
            elif type(arg) is dict and isinstance(after, dict):
                arg.clear()
                arg.update(after)
        if "raised" in reply:
            kind, message = reply["raised"]
            raise SAFE_EXCEPTIONS.get(kind, RuntimeError)(message if kind in SAFE_EXCEPTIONS else f"{kind}: {message}")
        return decode(reply["returned"])

    def function(self, name):
        def remote(*args, **kwargs):
            return self.call(name, args, kwargs)
        remote.__name__ = name
        return remote

    def close(self):
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            os.close(self.send)
            os.close(self.receive)
            self.process = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _serve(receive, send, timeout):
    """Sandbox side: run the cells, then answer calls until the pipe closes."""
    def alarm(signum, frame):
        raise TimeoutError(f"ran longer than {timeout} s")

    signal.signal(signal.SIGALRM, alarm)
    sys.path.insert(0, os.getcwd())
    namespace = {"__name__": "__main__"}
    for source in _receive(receive):
        signal.alarm(timeout)
        try:
            exec(compile(source, "<cell>", "exec"), namespace)
        except BaseException:  # noqa: BLE001 - a failing cell fails in the kernel too; go on
            pass
        finally:
            signal.alarm(0)
    _send(send, {"ready": True})
    handles = []
    while True:
        request = _receive(receive)
        args, kwargs = decode(request["args"], handles), decode(request["kwargs"], handles)
        reply = {}
        signal.alarm(timeout)
        try:
            reply["returned"] = encode(namespace[request["name"]](*args, **kwargs), handles)
        except KeyError as error:
            if request["name"] in namespace:
                reply["raised"] = ("KeyError", str(error))
            else:
                reply["raised"] = ("NameError", f"name '{request['name']}' is not defined")
        except BaseException as error:  # noqa: BLE001 - reported to the grader as data
            reply["raised"] = (type(error).__name__, str(error)[:2000])
        finally:
            signal.alarm(0)
        reply["after"] = encode([a if isinstance(a, (np.ndarray, dict)) else None for a in args], handles)
        _send(send, reply)


if __name__ == "__main__":
    sys.stdout = sys.stderr = open(os.devnull, "w")
    _serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
