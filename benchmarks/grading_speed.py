"""Seconds per submission: plain serial `nbgrader autograde` against `python -m autograder grade`.

Generates a batch of N submissions (correct, buggy and broken, in turn), grades it with
plain nbgrader (its default configuration, `nbgrader autograde` over the whole batch,
run again without the students that stopped a run) and with our command (local workers, and a local Dask cluster of 2 worker
processes through --scheduler, started with the settings README gives a cluster: autograder/dask.yaml), and prints wall-clock seconds per submission and the
ratio. Our command's time is the whole command: course set-up, grading, feedback,
grades.csv and the report.

It then prints where the CPU went: CPU-seconds per submission of every process of each
run (the command or nbgrader, their workers and kernels), and for our runs the same by
phase, as the workers and the command measured them per submission (resources.csv,
autograder.phases), with the kernels' share; "the rest" is what no submission was charged
with (Python and Dask starting, the course set-up, the report, idle workers). A run's
processes are counted when they have ended (getrusage of the children waited for), but
for our kernels: none is waited for (the grader kills them with their cgroup; a kernel
server has its kernels reaped unwaited), and their CPU-seconds are their cgroups'
(resources.csv's cpu_seconds).

Usage: .venv/bin/python benchmarks/grading_speed.py [N] [--workdir DIR]
"""

import argparse
import csv
import itertools
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dataclasses import dataclass, field

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from autograder.phases import PHASES  # noqa: E402
from mutants import MUTANTS, patched_answers  # noqa: E402
from notebook_cells import answer_source  # noqa: E402
from test_grade_command import BATCH, completed  # noqa: E402

BROKEN = ("not_json", "not_notebook", "old_format", "tampered_tests", "kills_kernel", "import_error")


def batch(n):
    """N submissions: the solution, the stubs, every mutant and broken notebooks, in turn."""
    kinds = [("solution", BATCH["solution"]), ("stubs", BATCH["stubs"])]
    kinds += [(f"mutant{i:02d}", completed(**patched_answers(m, answer_source))) for i, m in enumerate(MUTANTS.values())]
    kinds += [(name, BATCH[name]) for name in BROKEN]
    return {f"s{i:04d}_{name}": nb for i, (name, nb) in zip(range(n), itertools.cycle(kinds))}


def write(submissions, root):
    for student, content in submissions.items():
        path = root / student / "dropout.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(content if isinstance(content, str) else nbformat.writes(content))


class Measured:
    """Wall-clock seconds and CPU-seconds of what runs within: this process and the children it waited for."""

    def __enter__(self):
        self.start, self.cpu = time.perf_counter(), _cpu()
        return self

    def __exit__(self, *exc):
        self.seconds, self.cpu = time.perf_counter() - self.start, _cpu() - self.cpu


def _cpu():
    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))


def graded(course):
    """How many autograded notebooks the nbgrader course holds."""
    return len(list(course.glob("autograded/*/dropout/dropout.ipynb")))


def environment():
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


FAILED = re.compile(r"(?:error processing assignment: |Removing failed assignment: ).*/(?:submitted|autograded)/([^/]+)/")


def plain_nbgrader(submissions, work):
    """`nbgrader autograde` over the batch with nbgrader's defaults; return (seconds, graded, runs).

    Some broken submissions stop nbgrader's whole run; as an instructor would, run it again
    with those students excluded (nbgrader skips the ones already graded) until a run ends
    without stopping early. Every run counts in the time.
    """
    course = work / "plain"
    shutil.copytree(ROOT / "solutions", course / "solutions")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "dropout"], cwd=course, env=environment(),
                   check=True, capture_output=True)
    write(submissions, course / "submitted")
    for folder in (course / "submitted").iterdir():  # nbgrader's layout: submitted/<student>/<assignment>/
        (folder / "dropout").mkdir()
        (folder / "dropout.ipynb").rename(folder / "dropout" / "dropout.ipynb")
    excluded, runs = set(), 0
    with Measured() as measured:
        while True:
            runs += 1
            log = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "dropout",
                                  f"--CourseDirectory.student_id_exclude={','.join(sorted(excluded))}"],
                                 cwd=course, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True).stdout
            failed = set(FAILED.findall(log)) - excluded
            if not failed:
                break
            excluded |= failed
    return Run(measured.seconds, measured.cpu, graded(course), runs)


def ours(submissions, work, name, *options):
    """`python -m autograder grade` over the batch."""
    folder = work / name
    write(submissions, folder / "submissions")
    with Measured() as measured:
        result = subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder / "submissions"),
                                 "--out", str(folder / "out"), *options], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"grading failed:\n{result.stderr[-3000:]}")
    by_phase = phases(folder / "out")
    return Run(measured.seconds, measured.cpu + by_phase["cpu_seconds"], graded(folder / "out" / "course"), 1,
               by_phase)


@dataclass
class Run:
    seconds: float
    cpu: float  # CPU-seconds of every process of the run
    graded: int
    runs: int
    phases: dict = field(default_factory=dict)  # resources.csv column -> CPU-seconds, summed over the batch


def phases(out):
    """resources.csv column -> its sum over the students: CPU-seconds by phase, and the kernels' (cpu_seconds)."""
    with open(out / "resources.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {name: sum(float(row[name] or 0) for row in rows) for name in ("cpu_seconds", *PHASES)}


def print_phases(n, runs):
    """CPU-seconds per submission by phase, one column per run."""
    labels = list(runs)
    print(f"\nCPU-seconds per submission{'':28s}" + "".join(f"{label:>12s}" for label in labels))
    lines = [(words, [run.phases.get(name) for run in runs.values()]) for name, words in PHASES.items()]
    lines.append(("the rest (no submission's)", [run.cpu - sum(run.phases.get(name, 0) for name in PHASES)
                                                 if run.phases else None for run in runs.values()]))
    lines.append(("all the run's processes", [run.cpu for run in runs.values()]))
    lines.append(("  of which the kernels' (cgroup)", [run.phases.get("cpu_seconds") for run in runs.values()]))
    for words, figures in lines:
        print(f"{words:54s}" + "".join(f"{'':>12s}" if f is None else f"{f / n:12.3f}" for f in figures))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, nargs="?", default=100, help="submissions in the batch (100)")
    parser.add_argument("--workdir", type=Path, help="keep the courses here (default: a temporary folder)")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="grading-speed-"))
    work.mkdir(parents=True, exist_ok=True)
    submissions = batch(args.n)
    cores = len(os.sched_getaffinity(0))
    print(f"{args.n} submissions, {cores} cores")

    plain = plain_nbgrader(submissions, work)
    local = ours(submissions, work, "local")
    import dask
    from distributed import LocalCluster
    from autograder.cluster import GRADING_CONFIG
    with Measured() as measured:  # the cluster's processes too, the scheduler in this one
        with dask.config.set(GRADING_CONFIG), LocalCluster(  # started as README says (DASK_CONFIG=autograder/dask.yaml)
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            dask = ours(submissions, work, "dask", "--scheduler", cluster.scheduler_address)
    dask.cpu = measured.cpu + dask.phases["cpu_seconds"]

    print(f"{'':46s}{'runs':>5s}{'graded':>8s}{'seconds':>9s}{'s/submission':>14s}{'speed-up':>10s}")
    runs = {"nbgrader": plain, "local": local, "Dask": dask}
    for label, run in (("plain nbgrader autograde (serial)", plain),
                       (f"python -m autograder grade ({cores} workers)", local),
                       ("python -m autograder grade (Dask, 2 workers)", dask)):
        print(f"{label:46s}{run.runs:5d}{run.graded:8d}{run.seconds:9.1f}{run.seconds / args.n:14.2f}"
              f"{plain.seconds / run.seconds:9.2f}x")
    print_phases(args.n, runs)
    if not args.workdir:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
