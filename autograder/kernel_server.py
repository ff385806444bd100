"""The confined Python from which each notebook's kernel is forked: `python -m autograder.kernel_server`.

It runs as PID 1 of its sandbox (autograder.confine), with what an ipykernel imports
loaded once (PRELOADED). For each line it reads (JSON: the kernel's arguments, its working
folder and its CPU-seconds), it forks a process that becomes an ipykernel, as
``python -m ipykernel_launcher`` would make one, and writes that process's PID back.
The grader moves the server into the notebook's cgroup for the fork, so the kernel is born
in it (autograder.forked_kernels).

Nothing of a notebook passes through here: no connection file is read (the kernel reads
its own) and no student code runs before the fork. What a kernel could do to the server,
it cannot: the server is not dumpable (no ptrace, no /proc/1/mem), and as PID 1 of its
namespace it gets no signal from inside it but those it handles, and it ignores SIGINT.
"""

import ctypes
import gc
import importlib
import json
import os
import random
import resource
import signal
import sys

from autograder import heap

# what `IPKernelApp.initialize` and `start` and the notebook's set-up cell import (python -X importtime; the
# modules a forked kernel has that the server had not), numpy.random among them: numpy imports it on first use
PRELOADED = (
    "numpy", "numpy.random", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger",
    "IPython.core.completerlib", "IPython.core.debugger", "IPython.core.oinspect", "IPython.core.logger",
    "IPython.extensions.storemagic", "IPython.utils.wildcard", "sqlite3", "tornado.gen", "tornado.locks",
    "tornado.queues", "tornado.platform.asyncio", "faulthandler", "pdb", "code", "unicodedata", "math", "re",
    "autograder.sandbox",
)
PR_SET_DUMPABLE = 4  # prctl(2)


def _fill_caches():
    """Compute once, before any fork, what every kernel would compute again on first use: the tokenizer's
    patterns (IPython reads each cell with them) and the Python lexer's (a traceback is highlighted with it,
    a fifth of a CPU-second for a kernel's first error). Nothing of a notebook is involved."""
    from IPython.core import ultratb
    from IPython.core.inputtransformer2 import TransformerManager

    TransformerManager().transform_cell("pass\n")
    try:
        raise ValueError("a traceback formatted before any kernel")
    except ValueError:
        ultratb.AutoFormattedTB(mode="Context").structured_traceback(*sys.exc_info())


def _dumpable(flag):
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, int(flag), 0, 0, 0)


def _become_kernel(request):
    """In the forked child: a fresh process state, then ipykernel's own start, as ipykernel_launcher does."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])  # the server's pipes among them
    os.setsid()  # a process group of its own: jupyter_client signals the group
    _dumpable(True)  # its own processes may inspect it, as in a kernel of its own; the server stays closed
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # its own children it waits for
    if request.get("cpu_seconds"):
        limit = int(request["cpu_seconds"])
        resource.setrlimit(resource.RLIMIT_CPU, (limit, limit))
    os.chdir(request["cwd"])
    gc.enable()
    import numpy as np
    np.random.seed()  # each kernel its own random state, not a copy of the server's
    random.seed()
    if sys.path and sys.path[0] in ("", os.getcwd(), request["server_cwd"]):
        del sys.path[0]  # as ipykernel_launcher does: the working folder enters through IPython's own ''
    sys.argv = [request["argv"][0], *request["argv"][3:]]
    from ipykernel.kernelapp import IPKernelApp
    app = IPKernelApp.instance()
    app.initialize(request["argv"][3:])
    app.start()


def main():
    gc.disable()  # no collection leaves holes in the pages the kernels share (gc.freeze's advice), until they fork
    _dumpable(False)
    heap.keep_freed_memory()  # and so for every kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # kernels, and the orphans PID 1 inherits, are reaped as they end, never waited for: no zombies, and their
    # CPU-seconds are their cgroups' only, not also added to the server's children's (getrusage(2))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    for name in PRELOADED:
        importlib.import_module(name)
    _fill_caches()
    # what is imported stays out of every collection, so that a kernel's collections do not copy the pages they
    # share with the server (each object they visit is written to): a tenth of what a notebook's cells cost
    gc.freeze()
    server_cwd = os.getcwd()
    print("ready", flush=True)
    for line in sys.stdin:
        request = {**json.loads(line), "server_cwd": server_cwd}
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _become_kernel(request)
                code = 0
            finally:
                os._exit(code)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
