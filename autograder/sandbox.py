"""Call a student's functions in a separate, confined process, passing only plain data back.

The grading process starts ``python -m autograder.sandbox`` (inside autograder.confine),
sends it the notebook's code cells, and then calls the functions those cells defined.
Student code can change anything in its own process (NumPy, the checks module, builtins);
none of it reaches the grader. Only JSON and raw numeric array buffers come back, rebuilt
with ``np.frombuffer`` from a checked numeric dtype; any other object stays in the sandbox
and is represented by an opaque handle. A message may not exceed MAX_MESSAGE bytes.
"""

import builtins
import json
import os
import select
import signal
import struct
import subprocess
import sys

import numpy as np

from autograder import confine

SAFE_EXCEPTIONS = {name: getattr(builtins, name) for name in (
    "ValueError", "TypeError", "KeyError", "IndexError", "AttributeError", "NameError",
    "NotImplementedError", "ZeroDivisionError", "RuntimeError", "MemoryError", "OverflowError", "TimeoutError")}
MARGIN = 5  # seconds the grader waits beyond the sandbox's own alarm, for code that blocks it
MAX_MESSAGE = 256 * 2**20  # bytes: more than any check needs, far less than the grader's memory


class Handle:
    """An object that lives in the sandbox; the grader can only pass it back."""

    def __init__(self, key):
        self.key = key

    def __repr__(self):
        return f"<object of the student's, #{self.key}>"


class MessageTooLarge(Exception):
    """The other side sent more than MAX_MESSAGE bytes."""


def _send(fd, message, buffers=()):
    """One message: JSON, then the raw bytes of each array it refers to, each with its length."""
    data = b"".join([struct.pack(">Q", len(part)) + part for part in (json.dumps(message).encode(), *buffers)])
    view = memoryview(struct.pack(">Q", len(buffers)) + data)
    while view:
        view = view[os.write(fd, view):]


def _receive(fd, timeout=None):
    """(message, buffers), refusing more than MAX_MESSAGE bytes in all."""
    total = 0

    def read(size):
        chunks = []
        while size:
            if timeout is not None and not select.select([fd], [], [], timeout)[0]:
                raise TimeoutError
            chunk = os.read(fd, min(size, 2**20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def part():
        nonlocal total
        (size,) = struct.unpack(">Q", read(8))
        total += size
        if total > MAX_MESSAGE:
            raise MessageTooLarge
        return read(size)

    (count,) = struct.unpack(">Q", read(8))
    message = json.loads(part())
    return message, [part() for _ in range(count)]


def encode(value, buffers, handles=None):
    """Plain data as JSON, numeric arrays as raw buffers; anything else as a handle (sandbox side only)."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc" and value.dtype.fields is None:
        array = np.ascontiguousarray(value)
        buffers.append(array.tobytes())
        return {"__array__": len(buffers) - 1, "dtype": array.dtype.str, "shape": list(array.shape)}
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) in (list, tuple):
        items = [encode(v, buffers, handles) for v in value]
        return {"__tuple__": items} if type(value) is tuple else items
    if type(value) is dict and all(type(k) is str for k in value):
        return {"__dict__": {k: encode(v, buffers, handles) for k, v in value.items()}}
    if isinstance(value, Handle):
        return {"__handle__": value.key}
    if handles is None:
        raise TypeError(f"cannot send {type(value).__name__} to the sandbox")
    handles.append(value)
    return {"__handle__": len(handles) - 1}


def _array(value, buffers):
    dtype = np.dtype(str(value["dtype"]))
    shape = tuple(int(n) for n in value["shape"])
    if dtype.kind not in "biufc" or dtype.fields is not None or any(n < 0 for n in shape):
        raise ValueError("malformed array from the sandbox")
    return np.frombuffer(buffers[value["__array__"]], dtype=dtype).reshape(shape).copy()


def decode(value, buffers, handles=None):
    if isinstance(value, list):
        return [decode(v, buffers, handles) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        return _array(value, buffers)
    if "__tuple__" in value:
        return tuple(decode(v, buffers, handles) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: decode(v, buffers, handles) for k, v in value["__dict__"].items()}
    if "__handle__" in value:
        return handles[value["__handle__"]] if handles is not None else Handle(value["__handle__"])
    raise ValueError("malformed message from the sandbox")


class Sandbox:
    """The student's code in its own confined process; ``function(name)`` gives a callable proxy."""

    def __init__(self, cells, folder, timeout, memory_mb=2048):
        self.cells, self.folder, self.timeout, self.memory_mb, self.process = cells, folder, timeout, memory_mb, None

    def _start(self):
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        argv = [sys.executable, "-m", "autograder.sandbox", str(child_reads), str(child_writes), str(self.timeout)]
        self.process = subprocess.Popen(
            confine.command(argv, self.folder, self.memory_mb), env=confine.environment(),
            pass_fds=(child_reads, child_writes), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(child_reads)
        os.close(child_writes)
        self.send, self.receive = parent_writes, parent_reads
        _send(self.send, self.cells)
        self._reply(self.timeout * len(self.cells) + MARGIN)

    def _reply(self, timeout):
        try:
            return _receive(self.receive, timeout)
        except (TimeoutError, EOFError, MessageTooLarge, ValueError, struct.error) as error:
            self.close()
            if isinstance(error, TimeoutError):
                raise TimeoutError(f"your code did not answer within {timeout} s") from None
            if isinstance(error, MessageTooLarge):
                raise ValueError(f"your function returned more than {MAX_MESSAGE // 2**20} MiB of data") from None
            raise RuntimeError("your code's process stopped (it exited or crashed)") from None

    def call(self, name, args, kwargs):
        if self.process is None:
            self._start()
        buffers = []
        request = {"name": name, "args": encode(list(args), buffers), "kwargs": encode(dict(kwargs), buffers)}
        _send(self.send, request, buffers)
        reply, buffers = self._reply(self.timeout + MARGIN)
        for index, after in decode(reply["changed"], buffers).items():  # in-place changes, made visible
            arg = args[int(index)]
            if isinstance(arg, np.ndarray) and isinstance(after, np.ndarray) and after.shape == arg.shape:
                arg[...] = after
            elif type(arg) is dict and isinstance(after, dict):
                arg.clear()
                arg.update(after)
        if "raised" in reply:
            kind, message = reply["raised"]
            raise SAFE_EXCEPTIONS.get(kind, RuntimeError)(message if kind in SAFE_EXCEPTIONS else f"{kind}: {message}")
        return decode(reply["returned"], buffers)

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


def _changed(before, after):
    if isinstance(before, np.ndarray):
        return before.shape != after.shape or before.dtype != after.dtype or before.tobytes() != after.tobytes()
    return True  # a dict: small, always sent back


def _serve(receive, send, timeout):
    """Sandbox side: run the cells, then answer calls until the pipe closes."""
    def alarm(signum, frame):
        raise TimeoutError(f"ran longer than {timeout} s")

    signal.signal(signal.SIGALRM, alarm)
    sys.path.insert(0, os.getcwd())
    namespace = {"__name__": "__main__"}
    for source in _receive(receive)[0]:
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
        request, buffers = _receive(receive)
        args, kwargs = decode(request["args"], buffers, handles), decode(request["kwargs"], buffers, handles)
        mutable = {i: a.copy() for i, a in enumerate(args) if isinstance(a, np.ndarray) or type(a) is dict}
        reply, buffers = {}, []
        signal.alarm(timeout)
        try:
            reply["returned"] = encode(namespace[request["name"]](*args, **kwargs), buffers, handles)
        except KeyError as error:
            if request["name"] in namespace:
                reply["raised"] = ("KeyError", str(error))
            else:
                reply["raised"] = ("NameError", f"name '{request['name']}' is not defined")
        except BaseException as error:  # noqa: BLE001 - reported to the grader as data
            reply["raised"] = (type(error).__name__, str(error)[:2000])
        finally:
            signal.alarm(0)
        changed = {str(i): args[i] for i, before in mutable.items() if _changed(before, args[i])}
        reply["changed"] = encode(changed, buffers, handles)
        _send(send, reply, buffers)


if __name__ == "__main__":
    sys.stdout = sys.stderr = open(os.devnull, "w")
    _serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
