"""Grading in parallel, locally and on a Dask cluster, gives exactly the grades of one worker, and loses none."""

import signal
import subprocess
import time

import pytest
from distributed import Client, LocalCluster
from nbgrader.api import Gradebook

from conftest import ROOT
from test_grade_command import digest, grade, grade_command, rows_of, write_batch, write_full_batch
from test_hostile_grading import left_by_dead_processes

KILL_BATCH = ("solution", "stubs", "no_division", "cs231n_seed", "old_format", "tampered_tests", "import_error",
              "output_flood", "cheat_patch_numpy", "cheat_always_equal", "cheat_redefine_checks", "cheat_hard_coded")


def feedback_pages(out):
    return {path.relative_to(out).as_posix(): digest(path) for path in sorted((out / "feedback").rglob("*.html"))}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A real Dask cluster on this machine: a scheduler and two worker processes of two threads (TMPDIR: .temporary)."""
    temporary = tmp_path_factory.mktemp("cluster-tmp")
    with LocalCluster(n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None,
                      env={"TMPDIR": str(temporary)}) as local:
        local.temporary = temporary
        yield local


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Every kind of submission of the grading tests, and its grades with 2 local workers."""
    root, out = tmp_path_factory.mktemp("batch") / "submissions", tmp_path_factory.mktemp("two") / "out"
    write_full_batch(root, out)
    result = grade(root, out, "--workers", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    return root, out


def test_one_worker_gives_the_same_grades_and_feedback_as_two(batch, tmp_path):
    root, two = batch
    one = tmp_path / "out"
    result = grade(root, one, "--workers", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (one / "grades.csv").read_text() == (two / "grades.csv").read_text()
    assert feedback_pages(one) == feedback_pages(two)


def test_a_dask_cluster_gives_the_same_grades_as_local_workers(batch, cluster, tmp_path):
    root, local = batch
    out = tmp_path / "out"
    result = grade(root, out, "--scheduler", cluster.scheduler_address)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 of the 2 Dask workers have several threads" in result.stderr
    assert "profile their threads" in result.stderr and "DASK_CONFIG=" in result.stderr  # started without dask.yaml
    assert (out / "grades.csv").read_text() == (local / "grades.csv").read_text()
    assert feedback_pages(out) == feedback_pages(local)
    left = sorted(path.name for path in cluster.temporary.iterdir())
    assert left == [], f"the run left on the cluster's workers, which go on running: {left}"


def test_a_worker_killed_mid_batch_loses_no_grade(batch, cluster, tmp_path):
    submissions = write_batch(tmp_path / "submissions", {  # the same notebooks as in the reference batch
        student: (batch[0] / student / "dropout.ipynb").read_text() for student in KILL_BATCH})
    out = tmp_path / "out"
    process = subprocess.Popen(grade_command(submissions, out, "--scheduler", cluster.scheduler_address),
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with Client(cluster.scheduler_address) as client:
        victim = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline and process.poll() is None:
            graded = list((out / "course" / "autograded").glob("*")) if (out / "course" / "autograded").exists() else []
            busy = [address for address, keys in client.processing().items() if keys]
            if graded and busy:
                victim = busy[0]
            time.sleep(0.05)
        assert victim is not None, "the batch ended before a worker could be killed mid-task"
        pid = client.run(lambda: __import__("os").getpid(), workers=[victim])[victim]
        subprocess.run(["kill", f"-{signal.SIGKILL.value}", str(pid)], check=True)
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]

    reference, rows = rows_of(batch[1]), rows_of(out)
    assert sorted(rows) == sorted(KILL_BATCH)
    for student in KILL_BATCH:
        assert rows[student] == reference[student], student
    with Gradebook(f"sqlite:///{out / 'course' / 'gradebook.db'}") as gradebook:
        recorded = [s.student.id for s in gradebook.find_assignment("dropout").submissions]
    assert sorted(recorded) == sorted(KILL_BATCH), "every student recorded exactly once"
    assert left_by_dead_processes() == [], "the killed worker's cgroups or folders were not removed by its successor"
