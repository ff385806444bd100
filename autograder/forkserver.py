"""The process from which the grading command's local workers are forked: multiprocessing's forkserver.

It imports the grading code once for all the workers, not once in each (nbgrader alone takes
a second and a half), and `python -m autograder` starts it before its own imports, so that
it imports for the workers while the command imports for itself. It ends with the cluster.
"""

import multiprocessing
import multiprocessing.forkserver

WORKER_IMPORTS = ["distributed", "autograder.worker"]


def start_forkserver():
    """Start the forkserver, importing WORKER_IMPORTS, unless it runs already; return at once."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(WORKER_IMPORTS)
    multiprocessing.forkserver.ensure_running()


def stop_forkserver():
    """End the forkserver and wait for it: its memory is given back, and the CPU-seconds of the workers it forked
    count among this process's children's (getrusage). multiprocessing has no public call for it; its own
    tests end it with this one (Python 3.11 to 3.13)."""
    multiprocessing.forkserver._forkserver._stop()
