"""Hostile submissions beside honest ones: each gets a status it earned, the others exactly their own grades.

One batch holds notebooks that print too much, never return, ignore interrupts, fork, fill
memory, /tmp and their folder and start daemons; with the default caps (but the cell
timeout, 3 s) and 2 workers. Its honest rows must equal the rows
of the same notebooks graded alone, and nothing of the batch may be left on the machine.
"""

import copy
import csv
import os
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from autograder import __main__ as command
from autograder.cgroups import PARENT, _mounts, _own_groups, alive, unavailable
from autograder.worker import Graded
from notebook_cells import answer_source, graded_tests
from test_grade_command import (AUTO_POINTS, RELEASED, WITHOUT_FORWARD, completed, grade, rows_of,
                                with_code_before, write_batch)

pytestmark = pytest.mark.skipif(bool(unavailable()), reason="; ".join(unavailable()))  # the caps need cgroups
MARK = "hostile-daemon-3f1c"  # in the command line of the daemon a submission leaves behind
FORWARD_FOREVER = answer_source("dropout_forward").replace(
    '    p, mode = dropout_param["p"], dropout_param["mode"]',
    '    while True:\n        pass\n    p, mode = dropout_param["p"], dropout_param["mode"]')
# The checks that call dropout_backward: what a notebook without it loses.
BACKWARD_TESTS = ("test_backward_applies_mask", "test_backward_mask_without_seed", "test_backward_numeric_gradient",
                  "test_backward_test_mode", "test_no_in_place_updates")


def after_answers(code):
    """The solution, with code of the student's own at the end of its last answer of the dropout functions."""
    return completed(dropout_backward=answer_source("dropout_backward") + "\n" + code)


def with_cells(*sources):
    nb = completed()
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in sources)
    return nb


HONEST = {"solution": completed(), "stubs": copy.deepcopy(RELEASED),
          "no_backward": completed(dropout_backward="def dropout_backward(dout, cache):\n    raise NotImplementedError")}
HOSTILE = {
    "one_long_line": after_answers("print(list(range(400_000)))"),
    "prints_200_mb": with_cells("for i in range(2000):\n    print('x' * 100_000)"),
    "spinner": after_answers("import sys\nfor i in range(90_000):\n    sys.stdout.write(f'\\r{i:>9} \\b|')\nprint()"),
    "binary_junk": after_answers("print(bytes(range(256)).decode('latin-1') * 20_000)"),
    "huge_image": after_answers("from IPython.display import display\n"
                                "display({'image/png': 'iVBORw0KGgo' + 'A' * 3_000_000}, raw=True)"),
    "forward_forever": completed(dropout_forward=FORWARD_FOREVER),
    "ignores_sigint": with_code_before("dropout_backward", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                                          "while True:\n    pass"),
    "sleeps_in_c": with_cells("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(10**6)"),
    "fork_bomb": after_answers("import os, time\nfor i in range(400):\n    try:\n        if os.fork() == 0:\n"
                               "            time.sleep(60)\n            os._exit(0)\n    except OSError:\n        break"),
    "memory_in_processes": after_answers(
        "import os, time\nfor i in range(10):\n    if os.fork() == 0:\n        hog = b'x' * (250 * 2**20)\n"
        "        time.sleep(60)\n        os._exit(0)\ntime.sleep(2)"),
    "fills_tmp": after_answers("chunk = b'x' * 2**20\ntry:\n    with open('/tmp/big', 'wb') as f:\n"
                               "        for i in range(3000):\n            f.write(chunk)\nfinally:\n    pass"),
    "fills_folder": after_answers("chunk = b'x' * 2**20\nfor n in range(20):\n    with open(f'big{n}', 'wb') as f:\n"
                                  "        for i in range(200):\n            f.write(chunk)"),
    "daemon": after_answers(f"import subprocess\nsubprocess.Popen(['python3', '-c', 'import os\\nif os.fork() == 0:\\n"
                            f"    os.setsid()\\n    while True: pass', '{MARK}'], start_new_session=True)"),
}
CPU_HOG = with_cells(*["import time\nstart = time.process_time()\nwhile time.process_time() - start < 1.8:\n"
                       "    pass"] * 6)
NO_BACKWARD = AUTO_POINTS - sum(graded_tests()[g] for g in BACKWARD_TESTS)
EXPECTED = {  # student: (status, autograded points)
    "one_long_line": ("graded: a cell printed more than 1 MiB: output cut", AUTO_POINTS),
    "prints_200_mb": ({"graded: a cell printed more than 1 MiB: output cut",  # in its cell's 3 s, or not
                       "graded: a cell ran longer than 3 s; a cell printed more than 1 MiB: output cut",
                       "graded: a cell ran longer than 3 s and did not stop when interrupted; a cell printed more than "
                       "1 MiB: output cut"}, AUTO_POINTS),
    "spinner": ("graded: a cell printed more than 1 MiB: output cut", AUTO_POINTS),
    "binary_junk": ("graded: a cell printed more than 1 MiB: output cut", AUTO_POINTS),
    "huge_image": ("graded: a cell printed more than 1 MiB: output cut", AUTO_POINTS),
    "forward_forever": ("graded: a cell ran longer than 3 s; never returned from dropout_forward", WITHOUT_FORWARD),
    "ignores_sigint": ("graded: a cell ran longer than 3 s and did not stop when interrupted", NO_BACKWARD),
    "sleeps_in_c": ("graded: a cell ran longer than 3 s and did not stop when interrupted", AUTO_POINTS),
    "fork_bomb": ("graded: started more than 64 processes or threads", 0),
    "memory_in_processes": ("graded: used more than 2048 MiB (its processes and files together)", AUTO_POINTS),
    "fills_tmp": ("graded: wrote more than 256 MiB of files: its folder or /tmp was full", AUTO_POINTS),
    "fills_folder": ("graded: wrote more than 256 MiB of files: its folder or /tmp was full", AUTO_POINTS),
    "daemon": ("graded", AUTO_POINTS),
}


def groups():
    """The cgroups grading runs make on this machine (autograder.cgroups)."""
    found = set()
    for controller, (point, version) in _mounts().items():
        parent = point / PARENT if version == 2 else point / _own_groups().get(controller, "").lstrip("/") / PARENT
        if parent.is_dir():
            found.update(p for p in parent.iterdir() if p.is_dir())
    return found


def mounts():
    return {line for line in Path("/proc/mounts").read_text().splitlines() if line.startswith("autograder-work-")}


def left_by_dead_processes():
    """cgroups (named PID-...) and mounted kernel folders (autograder-work-PID) of grading processes that are gone."""
    owners = [(group, int(group.name.split("-")[0])) for group in groups()]
    owners += [(mount, int(mount.split()[0].rsplit("-", 1)[1])) for mount in mounts()]
    return [thing for thing, pid in owners if not alive(pid)]


def daemons():
    return [p for p in psutil.process_iter(["cmdline"]) if MARK in " ".join(p.info["cmdline"] or [])]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = write_batch(tmp_path_factory.mktemp("hostile") / "submissions", {**HONEST, **HOSTILE})
    out, temporary = tmp_path_factory.mktemp("graded") / "out", tmp_path_factory.mktemp("tmpdir")
    before = groups(), mounts()
    start = time.monotonic()
    result = grade(root, out, "--workers", "2", env={**os.environ, "TMPDIR": str(temporary)})
    seconds = time.monotonic() - start
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result, temporary, before, seconds


def test_each_hostile_submission_gets_the_status_it_earned(hostile):
    rows = rows_of(hostile[0])
    for student, (status, points) in EXPECTED.items():
        row = rows[student]
        assert row["status"] in status if isinstance(status, set) else row["status"] == status, student
        auto = sum(float(row[g]) for g in graded_tests() if row[g] != "")
        assert (auto if points is not None else row["score"]) == (points if points is not None else ""), student


def test_honest_rows_equal_their_grades_graded_alone(hostile, tmp_path):
    alone = tmp_path / "alone"
    result = grade(write_batch(tmp_path / "honest", HONEST), alone, "--workers", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    rows, reference = rows_of(hostile[0]), rows_of(alone)
    for student in HONEST:
        assert rows[student] == reference[student], student


def test_cut_output_is_marked_in_the_feedback(hostile):
    page = (hostile[0] / "feedback" / "prints_200_mb" / "dropout.html")
    assert page.stat().st_size < 4 * 2**20, "the feedback keeps what was cut"
    assert "output cut: this cell printed more than 1 MiB" in page.read_text()


def test_no_submission_takes_much_beyond_its_time(hostile):
    """Every submission within its bounds: the infinite forward pass is found out once, not per check."""
    with open(hostile[0] / "resources.csv", newline="") as handle:
        seconds = {row["student_id"]: float(row["seconds"]) for row in csv.DictReader(handle)}
    assert seconds["forward_forever"] < 20, "a function that never returns is waited for once"
    assert max(seconds.values()) < 300 + 30, seconds


def test_nothing_of_the_batch_is_left_on_the_machine(hostile):
    out, _, temporary, before, _ = hostile
    time.sleep(0.5)
    assert daemons() == [], "a daemon of a submission survived it"
    assert groups() - before[0] == set(), "a submission's cgroup was left behind"
    assert mounts() - before[1] == set(), "a submission's folder is still mounted"
    left = sorted(p.name for p in temporary.iterdir())
    assert left == [], f"left in TMPDIR after grading: {left}"


def test_cpu_seconds_are_capped_for_all_processes_together(tmp_path):
    """Each cell within its time, all of them beyond the CPU-seconds: the kernel is stopped, with the reason."""
    out = tmp_path / "out"
    result = grade(write_batch(tmp_path / "cpu", {"burns_cpu": CPU_HOG}), out, "--cell-timeout", "30",
                   "--cpu-seconds", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    assert rows_of(out)["burns_cpu"]["status"] == "its kernel was stopped: it used more than 3 CPU-seconds"


def test_a_lost_worker_is_reported_as_the_graders_failure():
    """Never an exception's text: a status that says what to do."""
    from types import SimpleNamespace

    from distributed import KilledWorker

    lost = KilledWorker("grade-1", SimpleNamespace(address="tcp://127.0.0.1:1"), 3)
    for error in (lost, OSError("connection reset")):
        status = command._status(None, "someone", error, [], None)
        assert status.startswith(command.NOT_GRADED) and status.endswith("--resume") and "reset" not in status
    assert command._status(None, "someone", Graded("someone", failure="not a notebook"), [], None) == "not a notebook"


def test_resume_grades_just_the_submissions_the_grader_failed(tmp_path):
    batch = write_batch(tmp_path / "submissions", {"solution": HONEST["solution"], "stubs": HONEST["stubs"]})
    out = tmp_path / "out"
    assert grade(batch, out, "--workers", "1").returncode == 0
    graded = (out / "grades.csv").read_text()
    with open(out / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["student_id"] == "stubs":
            row.update({name: "" for name in row if name not in ("student_id", "max_score")})
            row["status"] = "not graded: the grader lost the worker grading it; grade it again with --resume"
    with open(out / "grades.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    again = grade(batch, out, "--workers", "1", "--resume")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0/1" in again.stderr and "1/1" in again.stderr, "only the failed submission is graded again"
    assert (out / "grades.csv").read_text() == graded
