"""CPU-seconds of grading one submission, by phase, in the grading process and in the student's kernel.

A grading thread runs a `Meter` around one submission; code on its way marks the phase it
enters (`within`). The thread's own CPU time (time.thread_time) goes to the phase it is
in, nested phases taking theirs out of the outer one; the CPU of the process's other threads
during the submission (Dask's event loop, a watchdog) goes to OTHER_THREADS. Where the kernel
runs in a cgroup, its processes' CPU-seconds, read at each change of phase, go to the phase
too: a kernel's start (started a notebook ahead, see autograder.trusted.SpareKernel) is what
its group used before its first cell.
"""

import resource
import threading
import time
from contextlib import contextmanager

KERNEL_START = "cpu_kernel_start"
CELLS = "cpu_cells"
TESTS = "cpu_tests"
AUTOGRADE = "cpu_autograde"
FEEDBACK = "cpu_feedback"
WORKER = "cpu_worker"
OTHER_THREADS = "cpu_worker_threads"
PREPARE = "cpu_prepare"
RECORD = "cpu_record"
PHASES = {  # resources.csv's column -> what it counts
    KERNEL_START: "kernel start and stop (its processes and the grader's)",
    CELLS: "notebook cells (the kernel and the grader's messages)",
    TESTS: "test cells (the checks, the student's functions forked)",
    AUTOGRADE: "the rest of nbgrader's autograde",
    FEEDBACK: "feedback page",
    WORKER: "the worker's task, the rest",
    OTHER_THREADS: "the worker's other threads meanwhile",
    PREPARE: "preparing the notebook (command)",
    RECORD: "recording in the gradebook (command)",
}

_thread = threading.local()


def _process_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Meter:
    """Counts this thread's CPU-seconds, and its kernel's, per phase, from `with Meter(phase):` to its end."""

    def __init__(self, phase):
        self.phase, self.seconds = phase, {}
        self.kernels = {}  # id of a kernel manager -> its group's CPU-seconds counted so far

    def __enter__(self):
        self.outer, _thread.meter = getattr(_thread, "meter", None), self
        self.mark, self.process = time.thread_time(), _process_cpu()
        self.thread_total = 0.0
        return self

    def __exit__(self, *exc):
        self.switch(self.phase)
        self.add(OTHER_THREADS, max(0.0, _process_cpu() - self.process - self.thread_total))
        _thread.meter = self.outer

    def add(self, phase, seconds):
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    def switch(self, phase):
        """This thread's CPU since the last switch to the phase it was in; it is now in `phase`. Return the last."""
        now = time.thread_time()
        self.add(self.phase, now - self.mark)
        self.thread_total += now - self.mark
        self.mark, (previous, self.phase) = now, (self.phase, phase)
        return previous


def _kernel_cpu(km):
    group = getattr(km, "group", None)
    return group.cpu_seconds() if group is not None else None


@contextmanager
def within(phase, km=None):
    """In this thread's Meter (if any), CPU goes to `phase` within; and km's group's CPU in this span."""
    meter = getattr(_thread, "meter", None)
    if meter is None:
        yield
        return
    previous = meter.switch(phase)
    before = _kernel_cpu(km)
    if before is not None:  # what the kernel used before it: its start
        meter.add(previous, max(0.0, before - meter.kernels.get(id(km), 0.0)))
    try:
        yield
    finally:
        after = _kernel_cpu(km)
        if after is not None:
            meter.add(phase, max(0.0, after - (before or 0.0)))
            meter.kernels[id(km)] = after
        meter.switch(previous)
