"""Freed memory kept for reuse in the processes that pass the checks' arrays back and forth.

glibc's malloc gives an allocation of over 128 KiB its own mmap, and once one is freed, puts
allocations of up to its size on the heap, whose top it returns to the system whenever more
than twice that is free there (mallopt(3), M_MMAP_THRESHOLD's dynamic adjustment). A check's
call of a student's function moves arrays of up to 800 KB through several buffers each way
(autograder.sandbox); freed, they went back to the system, and each of the next call's
buffers took its pages again, one page fault at a time: two thirds of what such a call cost,
in the grader and in the student's process (benchmarks/grading_speed.py's test-cell phase).
"""

import ctypes

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt(3)'s parameters, glibc's <malloc.h>
TRIM_BYTES = 64 * 2**20  # free memory the heap's top may hold before it is returned
MMAP_BYTES = 32 * 2**20  # allocations this large or larger get their own mmap (glibc's dynamic maximum)


def keep_freed_memory():
    """Have this process's malloc, and that of the processes it forks, keep freed memory for reuse (glibc only)."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # another C library (musl) has none: nothing to do
    if mallopt is not None:
        mallopt(M_TRIM_THRESHOLD, TRIM_BYTES)
        mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)
