"""Hostile submissions beside honest ones: each gets a status it earned, the others exactly their own grades.

One batch holds notebooks that print too much, never return, ignore interrupts, fork, fill
memory, /tmp and their folder and start daemons; with the default caps (but the cell
timeout, 3 s) and 2 workers. Its honest rows must equal the rows
of the same notebooks graded alone, and nothing of the batch may be left on the machine.
"""

import contextlib
import copy
import csv
import os
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from autograder import command as command
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


# Ten processes of 250 MB each, started after the answers; the notebook then waits, a few cells of at most 2.5 s
# each (the cell timeout is 3 s), until each has its memory or has been killed for it: on a busy machine, memory
# under its cap is handed out slowly, and the rest of the notebook may end before the cap is reached.
START_HOGS = """
import os, select, time
ready, done = os.pipe()
children, allocated, ended = [], 0, set()
for i in range(10):
    pid = os.fork()
    if pid == 0:
        hog = b'x' * (250 * 2**20)
        os.write(done, b'.')
        time.sleep(60)
        os._exit(0)
    children.append(pid)
"""
AWAIT_HOGS = """
deadline = time.monotonic() + 2.5
while allocated + len(ended) < len(children) and time.monotonic() < deadline:
    if select.select([ready], [], [], 0.05)[0]:
        allocated += len(os.read(ready, 64))
    ended.update(pid for pid in children if pid not in ended and os.waitpid(pid, os.WNOHANG)[0])
"""


def memory_in_processes():
    nb = after_answers(START_HOGS)
    nb.cells.extend(nbformat.v4.new_code_cell(AWAIT_HOGS) for _ in range(8))
    return nb


HONEST = {"solution": completed(), "stubs": copy.deepcopy(RELEASED),
          "no_backward": completed(dropout_backward="def dropout_backward(dout, cache):\n    raise NotImplementedError")}
HOSTILE = {
    "one_long_line": after_answers("print(list(range(400_000)))"),
    "prints_200_mb": with_cells("for i in range(2000):\n    print('x' * 100_000)"),
    "spinner": after_answers("import sys\nfor i in range(90_000):\n    sys.stdout.write(f'\\r{i:>9} \\b|')\nprint()"),
    "binary_junk": after_answers("print(bytes(range(256)).decode('latin-1') * 20_000)"),
    "one_huge_message": with_cells(f"print('x' * {40 * 2**20})"),  # over the 32 MiB a kernel's message may have
    "tampered_kernel_message": with_cells("k = get_ipython().kernel\nk.session.send(k.iopub_socket, 'stream', "
                                          f"{{'name': 'stdout', 'text': 'x' * {40 * 2**20}}}, parent=k.get_parent())"),
    # past its cell's timeout, when nbclient no longer watches for a dead kernel, and ignoring the interrupt
    "huge_message_after_its_timeout": with_cells("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                                 f"time.sleep(3.5)\nprint('x' * {40 * 2**20})\ntime.sleep(60)"),
    "huge_image": after_answers("from IPython.display import display\n"
                                "display({'image/png': 'iVBORw0KGgo' + 'A' * 3_000_000}, raw=True)"),
    "forward_forever": completed(dropout_forward=FORWARD_FOREVER),
    "ignores_sigint": with_code_before("dropout_backward", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                                          "while True:\n    pass"),
    "sleeps_in_c": with_cells("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(10**6)"),
    "fork_bomb": after_answers("import os, time\nfor i in range(400):\n    try:\n        if os.fork() == 0:\n"
                               "            time.sleep(60)\n            os._exit(0)\n    except OSError:\n        break"),
    "memory_in_processes": memory_in_processes(),
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
CUT, TOO_LARGE = "a cell printed more than 1 MiB: output cut", "sent more than 32 MiB in one message"
IGNORED = "a cell ran longer than 3 s and did not stop when interrupted"
EXPECTED = {  # student: (status, autograded points)
    "one_long_line": ("graded: a cell printed more than 1 MiB: output cut", AUTO_POINTS),
    "prints_200_mb": ({f"graded: {late}{cut}"  # one message of 200 MB, sent in its cell's 3 s, or not
                       for late in ("", "a cell ran longer than 3 s; ",
                                    "a cell ran longer than 3 s and did not stop when interrupted; ")
                       for cut in (CUT, TOO_LARGE)}, AUTO_POINTS),
    # sent in the cell's 3 s, or, on a busy machine, while the kernel could not take the interrupt
    "one_huge_message": ({f"graded: {TOO_LARGE}", f"graded: {IGNORED}", f"graded: {IGNORED}; {TOO_LARGE}"}, AUTO_POINTS),
    "tampered_kernel_message": ({f"graded: {TOO_LARGE}", f"graded: {IGNORED}", f"graded: {IGNORED}; {TOO_LARGE}"},
                                AUTO_POINTS),
    "huge_message_after_its_timeout": (f"graded: {TOO_LARGE}", AUTO_POINTS),
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
    assert "[output cut: this cell " in page.read_text()
    rows = rows_of(hostile[0])
    too_large = [s for s in ("prints_200_mb", "one_huge_message", "tampered_kernel_message",
                             "huge_message_after_its_timeout")
                 if rows[s]["status"] == f"graded: {TOO_LARGE}"]
    assert too_large, "no message over the cap was seen"
    for student in too_large:
        page = (hostile[0] / "feedback" / student / "dropout.html").read_text()
        assert "output cut: this cell sent more than 32 MiB in one message, which was not kept" in page, student


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


KILL_MARK = "worker-to-kill-9d2e"  # in the command line of a process a submission starts while it is graded
WORKER_KILLED = with_cells(f"import subprocess\nsubprocess.run(['python3', '-c', 'import time; time.sleep(4)', "
                           f"'{KILL_MARK}'])")


def kill_workers_grading_it(stop, killed):
    """Kill (SIGKILL) the Dask worker process that runs a process with KILL_MARK, each time one appears."""
    while not stop.is_set():
        for process in psutil.process_iter(["cmdline"]):
            if KILL_MARK not in " ".join(process.info["cmdline"] or []):
                continue
            with contextlib.suppress(psutil.Error):
                worker = next((p for p in process.parents() if "multiprocessing" in " ".join(p.cmdline())), None)
                if worker is not None:
                    worker.kill()
                    killed.append(worker.pid)
        time.sleep(0.05)


def test_a_submission_the_grader_failed_exits_3_and_is_graded_again_with_resume(tmp_path):
    """Its worker killed from outside whenever it grades it: 'not graded', exit code 3, its name; then --resume.

    Dask gives up on a task whose worker died more often than its allowed-failures (0 here,
    so that two kills suffice: one per attempt of the grader's). A task queued on the same
    worker when it dies counts that death too, but is graded again alone: no neighbour loses
    its grade, and --resume grades just the one, leaving the other rows as they are.
    """
    batch = write_batch(tmp_path / "submissions", {"solution": HONEST["solution"], "stubs": HONEST["stubs"],
                                                   "worker_killed": WORKER_KILLED})
    out, stop, killed = tmp_path / "out", threading.Event(), []
    killer = threading.Thread(target=kill_workers_grading_it, args=(stop, killed))
    killer.start()
    try:
        first = grade(batch, out, "--workers", "1", "--cell-timeout", "10",
                      env={**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"})
    finally:
        stop.set()
        killer.join()
    assert first.returncode == 3, first.stderr[-3000:]
    assert killed, "no worker was killed"
    rows = rows_of(out)
    failed = sorted(student for student, row in rows.items() if row["status"].startswith("not graded: "))
    assert failed == ["worker_killed"] and rows["solution"]["status"] == "graded", rows
    assert rows["stubs"]["status"] == "graded" and rows["stubs"]["score"] == "0", "a neighbour lost its grade"
    for student in failed:
        assert rows[student]["status"].endswith("grade it again with --resume") and rows[student]["score"] == ""
    assert f"could not be graded for the grader's own reasons (see grades.csv): {', '.join(failed)};" in first.stderr
    before = (out / "grades.csv").read_text().splitlines()

    again = grade(batch, out, "--workers", "1", "--cell-timeout", "10", "--resume")
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"0/{len(failed)}" in again.stderr and f"{len(failed)}/{len(failed)}" in again.stderr, \
        "only the submissions not graded are graded again"
    after = (out / "grades.csv").read_text().splitlines()
    assert all(row["status"] == "graded" for row in rows_of(out).values()), rows_of(out)
    assert float(rows_of(out)["worker_killed"]["score"]) == float(rows["solution"]["score"])
    kept = [line for line in before if line.split(",")[0] not in failed]
    assert [line for line in after if line.split(",")[0] not in failed] == kept, "the other rows are untouched"
    assert (out / "feedback" / "worker_killed" / "dropout.html").is_file()
