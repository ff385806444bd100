"""Run grading tasks on Dask: worker processes on this machine, or an existing cluster's scheduler.

Either way the same task (autograder.worker.grade) runs once per submission on some
worker, and its result comes back here, where one process records it. Dask reschedules
the tasks of a worker that dies; a task that still fails (a submission whose grading kills
workers again and again, Dask's ``allowed-failures``, or data lost with a worker) is tried
once more, alone on the cluster, then comes back as an error, never as a lost grade. Alone,
because Dask counts a worker's death against every task it held: a submission queued behind
one that kills its worker fails with it, and graded again beside it would fail again.
"""

import logging
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import dask
from distributed import Client, LocalCluster, as_completed

from autograder import cgroups, confine, worker
from autograder.forkserver import start_forkserver, stop_forkserver

SETTINGS = Path(__file__).with_name("dask.yaml")  # for this command's cluster and, as README says, any other


def _dotted(tree, prefix=""):
    """A nested config as dask.config.set takes it without replacing whole sections: dotted keys."""
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _dotted(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


GRADING_CONFIG = dict(_dotted(next(dask.config.collect_yaml([str(SETTINGS)]))))
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
    else:  # its workers' scratch folder is removed with it
        start_forkserver()  # if the command has not yet
        try:
            with tempfile.TemporaryDirectory(prefix="autograder-dask-") as scratch, \
                    dask.config.set({**GRADING_CONFIG, "temporary-directory": scratch,
                                     "distributed.worker.multiprocessing-method": "forkserver"}), \
                    LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                 memory_limit="2GiB", silence_logs=logging.ERROR, local_directory=scratch) as cluster, \
                    Client(cluster) as client:
                yield client
        finally:
            stop_forkserver()


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
    if any(client.run(dask.config.get, "distributed.worker.profile.enabled").values()):
        print(f"note: the Dask workers profile their threads (a tenth of a core each); start them with "
              f"DASK_CONFIG={SETTINGS} for the settings grading needs", file=sys.stderr)
    try:
        client.run(confine.check)
    except Exception as error:  # noqa: BLE001 - whatever a worker lacks (bwrap, this package), say it
        raise ClusterError(f"a Dask worker cannot grade: {type(error).__name__}: {error}") from None


def missing_caps(client):
    """What caps the workers cannot enforce (autograder.cgroups), each said once."""
    notes = client.run(cgroups.unavailable)
    return list(dict.fromkeys(note for found in notes.values() for note in found))


def warm_up(client, limits):
    """Have every worker import the grading code (nbgrader takes seconds) and start its kernel servers now, while
    the course is made; keep the futures until graded."""
    return [client.submit(worker.warm_up, limits, workers=[address], pure=False)
            for address in client.scheduler_info()["workers"]]


def _kit(kit):
    return kit


def grade_all(client, kit, jobs):
    """Grade (student_id, notebook JSON) jobs; yield (student_id, Graded or the error that stopped it).

    The kit is the result of a task, not scattered data: if the worker holding it is lost,
    the scheduler computes it again elsewhere. A task that fails for the cluster's reasons
    (its worker lost, its data gone) is submitted once more, when the others are done, and
    alone, before its error is given.
    """
    jobs = iter(jobs)
    kit_future = client.submit(_kit, kit, key=f"kit-{kit.key}", pure=False)
    window = IN_FLIGHT_PER_WORKER * max(1, len(client.scheduler_info()["workers"]))
    running = as_completed()
    tasks, again = {}, []  # future key -> (student_id, notebook); the jobs to try once more

    def submit(student_id, notebook):
        future = client.submit(worker.grade, kit_future, student_id, notebook, pure=False)
        tasks[future.key] = (student_id, notebook)
        running.add(future)

    def submit_next():
        for job in jobs:
            submit(*job)
            return

    for _ in range(window):
        submit_next()
    for future in running:
        student_id, notebook = tasks.pop(future.key)
        try:
            result = future.result()
        except Exception:  # noqa: BLE001 - a task that failed is tried again, then reported, never lost
            again.append((student_id, notebook))
            continue
        finally:
            future.release()
        yield student_id, result
        submit_next()
    for student_id, notebook in again:  # one at a time: no other submission shares its worker's fate
        future = client.submit(worker.grade, kit_future, student_id, notebook, pure=False)
        try:
            result = future.result()
        except Exception as error:  # noqa: BLE001 - reported with its student, never lost
            result = error
        finally:
            future.release()
        yield student_id, result
    client.run(worker.forget, kit.key)
