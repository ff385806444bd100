"""Call a student's functions in a process forked from their kernel, passing only plain data back.

When the notebook has run, the grader asks the student's (confined) kernel to fork: the
child holds exactly the functions the notebook defined and answers calls over a Unix
socket in the kernel's own folder. Student code can change anything in its own process
(NumPy, the checks module, builtins); none of it reaches the grader. Only JSON and raw
numeric array buffers come back, rebuilt with ``np.frombuffer`` from a checked numeric
dtype; any other object stays in the student's process and is represented by an opaque
handle. A message may not exceed MAX_MESSAGE bytes. A child that dies is replaced by a
new fork of the kernel, so one bad call costs only its own check. A function that never
returns is found out once: its child is ended at once, and later calls of it fail without
waiting (``never returned``), as do later cells of the notebook that call a function the
cell timeout interrupted (`give_up_interrupted`).
"""

import builtins
import contextlib
import functools
import gc
import json
import os
import select
import signal
import socket
import struct
import sys

import numpy as np


SAFE_EXCEPTIONS = {name: getattr(builtins, name) for name in (
    "ValueError", "TypeError", "KeyError", "IndexError", "AttributeError", "NameError",
    "NotImplementedError", "ZeroDivisionError", "RuntimeError", "MemoryError", "OverflowError", "TimeoutError")}
MARGIN = 5  # seconds the grader waits for the kernel to fork, and beyond a call's own alarm for code that blocks it
MAX_MESSAGE = 256 * 2**20  # bytes: more than any check needs, far less than the grader's memory
# What a check says when a call of the student's went wrong here (in a page in another language:
# autograder.notices); the fields named in braces are filled in
STOPPED = "your code's process stopped (it exited or crashed)"
MALFORMED = "your code's process sent back something other than the reply to the call (was the sandbox tampered with?)"
UNANSWERED = "your kernel stopped answering (it crashed, hangs, or its code was tampered with)"
TOO_MUCH = "your function returned more than {mib} MiB of data"
NEVER_RETURNED = "{name} never returned: stopped after {seconds} s"
HUNG_IN_CHECK = "{name} never returned in an earlier check (stopped after {seconds} s), so it is not called again"
HUNG_IN_CELL = "{name} never returned in an earlier cell (stopped after {seconds} s), so it is not called again"


class Handle:
    """An object that lives in the sandbox; the grader can only pass it back.

    A handle's class is named after the object's own (`of`), so that a check describes it as it
    would describe the object itself: "an object of type SeedSequence".
    """

    def __init__(self, key):
        self.key = key

    def __repr__(self):
        return f"<{type(self).__name__} object of the student's, #{self.key}>"

    @staticmethod
    def of(key, kind):
        """The handle of the sandbox's object number key, whose type is named kind (a name, or else 'object')."""
        named = isinstance(kind, str) and kind.isidentifier() and len(kind) <= 100
        return _handle_class(kind if named else "object")(key)


@functools.lru_cache(maxsize=128)
def _handle_class(kind):
    return type(kind, (Handle,), {"__module__": __name__})


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


def encode(value, buffers, handles=None, seen=None):
    """Plain data as JSON, numeric arrays as raw buffers; anything else as a handle (sandbox side only).

    A list, dict or array met again is sent as a reference to its first place (in the order
    met), so that decode gives the same sharing: two layers handed one dict stay one dict.
    """
    seen = {} if seen is None else seen
    if id(value) in seen:
        return {"__same__": seen[id(value)][0]}

    def met():  # the value is kept, so that its id is not reused meanwhile
        seen[id(value)] = (len(seen), value)

    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc" and value.dtype.fields is None:
        met()
        array = np.ascontiguousarray(value)
        buffers.append(array.tobytes())
        return {"__array__": len(buffers) - 1, "dtype": array.dtype.str, "shape": list(array.shape)}
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) in (list, tuple):
        if type(value) is list:
            met()
        items = [encode(v, buffers, handles, seen) for v in value]
        return {"__tuple__": items} if type(value) is tuple else items
    if type(value) is dict and all(type(k) is str for k in value):
        met()
        return {"__dict__": {k: encode(v, buffers, handles, seen) for k, v in value.items()}}
    if isinstance(value, Handle):
        return {"__handle__": value.key}
    if handles is None:
        raise TypeError(f"cannot send {type(value).__name__} to the sandbox")
    handles.append(value)
    return {"__handle__": len(handles) - 1, "type": type(value).__name__}


def _array(value, buffers):
    dtype = np.dtype(str(value["dtype"]))
    shape = tuple(int(n) for n in value["shape"])
    if dtype.kind not in "biufc" or dtype.fields is not None or any(n < 0 for n in shape):
        raise ValueError("malformed array from the sandbox")
    return np.frombuffer(buffers[value["__array__"]], dtype=dtype).reshape(shape).copy()


def decode(value, buffers, handles=None, made=None):
    """What encode sent, with its sharing: `made` holds each list, dict and array in the order met."""
    made = [] if made is None else made
    if isinstance(value, list):
        items = []
        made.append(items)
        items.extend(decode(v, buffers, handles, made) for v in value)
        return items
    if not isinstance(value, dict):
        return value
    if "__same__" in value:
        index = value["__same__"]
        if type(index) is not int or not 0 <= index < len(made):
            raise ValueError("malformed message from the sandbox")
        return made[index]
    if "__array__" in value:
        made.append(_array(value, buffers))
        return made[-1]
    if "__tuple__" in value:
        return tuple(decode(v, buffers, handles, made) for v in value["__tuple__"])
    if "__dict__" in value:
        items = {}
        made.append(items)
        items.update((k, decode(v, buffers, handles, made)) for k, v in value["__dict__"].items())
        return items
    if "__handle__" in value:
        if handles is not None:
            return handles[value["__handle__"]]
        return Handle.of(value["__handle__"], value.get("type"))
    raise ValueError("malformed message from the sandbox")


class Sandbox:
    """The student's functions, in a child of their kernel; ``function(name)`` gives a callable proxy.

    kernel is a Jupyter kernel client (its ``execute`` sends code to the student's kernel),
    folder a directory that both the grader and the kernel can reach (the kernel's runtime folder).
    """

    def __init__(self, kernel, folder, timeout):
        self.kernel, self.timeout = kernel, timeout
        self.path = os.path.join(folder, "calls.sock")
        self.listener = self.connection = None
        self.unavailable = None  # why the kernel cannot answer at all
        self.hung = {}  # name of a function that never returned -> what its later calls say

    def _start(self):
        if self.unavailable:
            raise RuntimeError(self.unavailable)
        if self.listener is None:
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            with contextlib.suppress(FileNotFoundError):  # the folder is the kernel's: whatever it left there
                os.unlink(self.path)
            self.listener.bind(self.path)
            self.listener.listen(1)
        self.kernel.execute(f"__import__('autograder.sandbox').sandbox.fork_server({self.path!r}, globals(), "
                            f"{self.timeout})", silent=True, store_history=False)
        if not select.select([self.listener], [], [], MARGIN)[0]:
            self.unavailable = UNANSWERED
            raise RuntimeError(self.unavailable)
        self.connection = self.listener.accept()[0]

    def _reply(self, timeout):
        try:
            return _receive(self.connection.fileno(), timeout)
        except (TimeoutError, EOFError, MessageTooLarge, ValueError, struct.error) as error:
            self.close()
            if isinstance(error, TimeoutError):
                raise TimeoutError(f"never returned: stopped after {timeout} s") from None
            if isinstance(error, MessageTooLarge):
                raise ValueError(TOO_MUCH.format(mib=MAX_MESSAGE // 2**20)) from None
            raise RuntimeError(STOPPED) from None

    def _never_returned(self, name, seconds):
        """The child stuck in name is ended now; later calls of name fail at once."""
        self.close()
        self.kernel.execute("__import__('autograder.sandbox').sandbox.end_child()", silent=True, store_history=False)
        self.hung[name] = HUNG_IN_CHECK.format(name=name, seconds=seconds)
        return TimeoutError(NEVER_RETURNED.format(name=name, seconds=seconds))

    def call(self, name, args, kwargs):
        return next(self.each(name, [(args, kwargs)]))

    def each(self, name, calls):
        """Call name on each (args, kwargs) of calls in turn, all in one exchange with the child; yield what each
        returned, in turn. A call that raised raises in its turn, and the calls after it were not made."""
        if not calls:
            return
        if name in self.hung:
            raise TimeoutError(self.hung[name])
        if self.connection is None:
            self._start()
        buffers = []
        request = {"name": name, "calls": [{"args": encode(list(args), buffers),
                                            "kwargs": encode(dict(kwargs), buffers)} for args, kwargs in calls]}
        try:
            _send(self.connection.fileno(), request, buffers)
        except OSError:  # the child is gone; the reply's absence says so
            pass
        seconds = self.timeout * len(calls) + MARGIN
        try:
            reply, buffers = self._reply(seconds)
        except TimeoutError:  # it blocked its own alarm
            raise self._never_returned(name, seconds) from None
        replies = reply.get("replies") if isinstance(reply, dict) else None
        if not isinstance(replies, list) or not 0 < len(replies) <= len(calls) or not all(
                isinstance(answer, dict) for answer in replies):
            self.close()
            raise RuntimeError(MALFORMED)
        for (args, _), answer in zip(calls, replies):
            yield self._outcome(name, args, answer, buffers)
        if len(replies) < len(calls):  # the child stopped early without a reason
            self.close()
            raise RuntimeError(STOPPED)

    def _outcome(self, name, args, answer, buffers):
        """What one call returned, its in-place changes made visible in args; or what it raised, raised."""
        if answer.get("timed_out"):
            raise self._never_returned(name, self.timeout)
        try:
            changed, raised = decode(answer["changed"], buffers), answer.get("raised")
            changes = [(args[int(index)], after) for index, after in changed.items()]
            if raised is not None:
                kind, message = raised
                if type(kind) is not str or type(message) is not str:
                    raise TypeError
            returned = decode(answer["returned"], buffers) if raised is None else None
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            self.close()
            raise RuntimeError(MALFORMED) from None
        for arg, after in changes:
            if isinstance(arg, np.ndarray) and isinstance(after, np.ndarray) and after.shape == arg.shape:
                arg[...] = after
            elif type(arg) is dict and isinstance(after, dict):
                arg.clear()
                arg.update(after)
        if raised is not None:
            raise SAFE_EXCEPTIONS.get(kind, RuntimeError)(message if kind in SAFE_EXCEPTIONS else f"{kind}: {message}")
        return returned

    def function(self, name):
        """A proxy for the student's function name; its `each(arg_lists)` calls it on each tuple of arguments
        in turn, in one exchange (Sandbox.each): an iterator of what the calls returned."""
        def remote(*args, **kwargs):
            return self.call(name, args, kwargs)
        remote.__name__ = name
        remote.each = lambda arg_lists: self.each(name, [(args, {}) for args in arg_lists])
        return remote

    def close(self):
        """End the child (it sees the connection close); the kernel ends any child that ignores that."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        if self.listener is not None:
            self.listener.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


def _changed(before, after):
    if isinstance(before, np.ndarray):
        return before.shape != after.shape or before.dtype != after.dtype or before.tobytes() != after.tobytes()
    return True  # a dict: small, always sent back


_child = None  # kernel side: the child answering calls now


def end_child():
    """Kernel side: end the child answering calls, if any."""
    global _child
    if _child is not None:
        os.kill(_child, signal.SIGKILL)
        os.waitpid(_child, 0)
        _child = None


def give_up_interrupted(namespace, seconds):
    """Kernel side, after a cell's timeout: the notebook's function it was stuck in fails at once from now on.

    The interrupt's traceback (IPython keeps it in sys.last_traceback) shows where the cell
    was; the innermost frame running a function of the notebook's namespace names it.
    """
    if getattr(sys, "last_type", None) is not KeyboardInterrupt:
        return  # the cell caught the interrupt, or ended otherwise: nothing was left stuck
    stuck, frame = None, sys.last_traceback
    while frame is not None:
        code = frame.tb_frame.f_code
        if getattr(namespace.get(code.co_name), "__code__", None) is code:
            stuck = code.co_name
        frame = frame.tb_next
    if stuck is None:
        return

    def never_returned(*args, **kwargs):
        raise TimeoutError(HUNG_IN_CELL.format(name=stuck, seconds=seconds))

    namespace[stuck] = never_returned


def fork_server(path, namespace, timeout):
    """Kernel side: end the previous child, fork one that answers calls on the socket at path, return at once."""
    global _child
    end_child()
    pid = os.fork()
    if pid:
        _child = pid
        return
    try:  # the child: the kernel's threads did not come along, so no output goes through them
        gc.freeze()  # the kernel's objects stay out of its collections: they would copy every page they visit
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        sys.stdout = sys.stderr = open(os.devnull, "w")
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(path)
        _answer(connection.fileno(), namespace, timeout)
    finally:
        os._exit(0)


def _answer(fd, namespace, timeout):
    """Answer calls of the functions in namespace until the grader closes the connection."""
    timed_out = False

    def alarm(signum, frame):
        nonlocal timed_out
        timed_out = True
        raise TimeoutError(f"ran longer than {timeout} s")

    signal.signal(signal.SIGALRM, alarm)
    handles = []

    def call(name, request, buffers, out):
        """One call's reply; the buffers of what it returned and changed appended to out."""
        nonlocal timed_out
        args, kwargs = decode(request["args"], buffers, handles), decode(request["kwargs"], buffers, handles)
        mutable = {i: a.copy() for i, a in enumerate(args) if isinstance(a, np.ndarray) or type(a) is dict}
        reply, start = {}, len(out)
        timed_out = False
        signal.alarm(timeout)
        try:
            if name not in namespace:
                raise NameError(f"name '{name}' is not defined")
            reply["returned"] = encode(namespace[name](*args, **kwargs), out, handles)
        except BaseException as error:  # noqa: BLE001 - reported to the grader as data
            reply["raised"] = (type(error).__name__, str(error)[:2000])
        finally:
            signal.alarm(0)
        if timed_out:
            del out[start:]
            return {"timed_out": True, "changed": {"__dict__": {}}}
        changed = {str(i): args[i] for i, before in mutable.items() if _changed(before, args[i])}
        reply["changed"] = encode(changed, out, handles)
        return reply

    while True:
        try:
            request, buffers = _receive(fd)
        except EOFError:
            return
        replies, out = [], []
        for one in request["calls"]:
            replies.append(call(request["name"], one, buffers, out))
            if "raised" in replies[-1] or replies[-1].get("timed_out"):
                break  # the calls after it are not made, as when they are made one by one
        _send(fd, {"replies": replies}, out)
