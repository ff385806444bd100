"""Peak memory of `python -m autograder grade` for batches of different sizes: it should not grow with them.

For each size N, generates a batch of N submissions (those of benchmarks/grading_speed.py)
and grades it with local workers, and prints the peak resident memory of the grader's own
processes: the command's (its high-water mark, read by itself as it ends), each of its Dask
worker processes' and of the forkserver they are forked from (their high-water marks, VmHWM,
read from /proc every 0.2 s until they end), and theirs together: the largest sum, at one
look, of the high-water marks of the processes then alive, an upper bound of their peak
together (pages the workers share with the forkserver count in each). The students' kernels,
each capped by its cgroup, are not counted. Also prints the disk space OUT takes per student.

Usage: .venv/bin/python benchmarks/grading_memory.py [N ...] [--workdir DIR]   (default: 100 500)
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from grading_speed import batch, write  # noqa: E402

COMMAND = """\
import resource, sys
from autograder.command import main
try:
    main(sys.argv[2:])
finally:
    with open(sys.argv[1], "w") as handle:
        handle.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))  # KiB
"""


def _grader_processes(pid, depth=2):
    """The command's worker processes and multiprocessing's helpers (the forkserver, the workers it forked), started
    by multiprocessing: its children and grandchildren whose command line is multiprocessing's.

    Not its other children, nor the workers' own: a process it forks to run a command
    (bubblewrap, mount) is, until it runs that command, a copy of its parent, command line and
    memory alike (a worker's, forked from the forkserver, reads as a worker until then).
    """
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:  # it has ended
        return
    for task in tasks:
        try:
            found += [int(c) for c in open(f"/proc/{pid}/task/{task}/children").read().split()]
        except OSError:
            pass
    for child in found:
        try:
            if b"from multiprocessing" not in open(f"/proc/{child}/cmdline", "rb").read():
                continue
        except OSError:
            continue
        yield child
        if depth > 1:
            yield from _grader_processes(child, depth - 1)


def _hwm_kib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None


def measure(n, work):
    """(seconds, command's peak MiB, {worker pid: peak MiB}, peak MiB together, MiB of OUT per student)."""
    folder = work / f"batch-{n}"
    shutil.rmtree(folder, ignore_errors=True)
    write(batch(n), folder / "submissions")
    peak_file = folder / "command-peak"
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", COMMAND, str(peak_file), "grade", str(folder / "submissions"),
                                "--out", str(folder / "out")], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    workers, together = {}, 0
    while process.poll() is None:
        alive = {pid: _hwm_kib(pid) for pid in [process.pid, *_grader_processes(process.pid)]}
        alive = {pid: kib for pid, kib in alive.items() if kib is not None}
        together = max(together, sum(alive.values()))  # each one's peak so far: at least their peak together
        workers.update({pid: kib for pid, kib in alive.items() if pid != process.pid})
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"grading {n} submissions failed with exit code {process.returncode}")
    out = subprocess.run(["du", "-sk", str(folder / "out")], capture_output=True, text=True, check=True)
    command = int(peak_file.read_text())
    together = max(together, command)  # the command's own peak, should it come after the last look
    return (seconds, command / 1024, {pid: kib / 1024 for pid, kib in workers.items()}, together / 1024,
            int(out.stdout.split()[0]) / 1024 / n)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", type=int, nargs="*", default=[100, 500], help="batch sizes (100 500)")
    parser.add_argument("--workdir", type=Path, help="keep the batches and results here (default: a temporary folder)")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="grading-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"{'submissions':>11s}{'seconds':>9s}{'command MiB':>13s}{'workers MiB':>24s}{'together MiB':>14s}"
          f"{'OUT MiB/student':>17s}")
    for n in args.sizes:
        seconds, command, workers, together, out = measure(n, work)
        each = " ".join(f"{mib:.0f}" for mib in sorted(workers.values()))
        print(f"{n:11d}{seconds:9.1f}{command:13.1f}{each:>24s}{together:14.1f}{out:17.2f}", flush=True)
    if not args.workdir:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
