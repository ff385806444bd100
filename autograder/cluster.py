"""Run grading tasks on Dask: worker processes on this machine, or an existing cluster's scheduler.

Either way the same task (autograder.worker.grade) runs once per submission on some
worker, and its result comes back here, where one process records it. Dask reschedules
the tasks of a worker that dies; a submission whose grading kills workers again and
again (Dask's ``allowed-failures``) comes back as an error, never as a lost grade.
"""

import logging
import sys
from contextlib import contextmanager

import dask
from distributed import Client, LocalCluster, as_completed

from autograder import confine, worker

# Dask's diagnostics, made for a dashboard this cluster does not have, would take a tenth of a core in each
# worker and in this process: its profiler samples every thread 100 times a second, its event loops are
# timed every 20 ms, and system and memory statistics are read several times a second.
LOCAL_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",  # the memory limit is checked every second
}
IN_FLIGHT_PER_WORKER = 4  # tasks queued per worker: enough to keep it busy, few enough to bound memory


class ClusterError(Exception):
    """No grading can happen on the cluster asked for."""


@contextmanager
def connect(workers=None, scheduler=None):
    """A Dask client: on a new LocalCluster of `workers` processes, or on the scheduler at `scheduler`."""
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as error:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
        with client:
            _check_workers(client)
            yield client
    else:
        with dask.config.set(LOCAL_CONFIG), \
                LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                             memory_limit="2GiB", silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            yield client


def _check_workers(client):
    """Every worker can confine student code, or say clearly which cannot; note workers with idle threads."""
    workers = client.scheduler_info()["workers"]
    if not workers:
        raise ClusterError("the Dask cluster has no workers")
    threaded = sorted(address for address, info in workers.items() if info["nthreads"] > 1)
    if threaded:
        print(f"note: {len(threaded)} of the {len(workers)} Dask workers have several threads, but a worker process "
              "grades one notebook at a time (nbgrader's autograde is not thread-safe); for one notebook per core, "
              "start workers with `dask worker ADDRESS --nthreads 1 --nworkers -1`", file=sys.stderr)
    try:
        client.run(confine.check)
    except Exception as error:  # noqa: BLE001 - whatever a worker lacks (bwrap, this package), say it
        raise ClusterError(f"a Dask worker cannot grade: {type(error).__name__}: {error}") from None


def warm_up(client):
    """Have every worker import the grading code now (nbgrader takes seconds); keep the futures until graded."""
    return [client.submit(worker.Limits, workers=[address], pure=False)  # unpickling it imports autograder.worker
            for address in client.scheduler_info()["workers"]]


def grade_all(client, kit, jobs):
    """Grade (student_id, notebook JSON) jobs; yield (student_id, Graded or the error that stopped it)."""
    jobs = iter(jobs)
    kit_future = client.scatter(kit, broadcast=True, hash=False)
    window = IN_FLIGHT_PER_WORKER * max(1, len(client.scheduler_info()["workers"]))
    running = as_completed()
    students = {}

    def submit_next():
        for student_id, notebook in jobs:
            future = client.submit(worker.grade, kit_future, student_id, notebook, pure=False)
            students[future.key] = student_id
            running.add(future)
            return

    for _ in range(window):
        submit_next()
    for future in running:
        student_id = students.pop(future.key)
        try:
            yield student_id, future.result()
        except Exception as error:  # noqa: BLE001 - a task that failed is reported, never lost
            yield student_id, error
        future.release()
        submit_next()
    client.run(worker.forget, kit.key)
