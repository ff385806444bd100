"""Peak memory of `python -m autograder grade` for batches of different sizes: it should not grow with them.

For each size N, generates a batch of N submissions (those of benchmarks/grading_speed.py)
and grades it with local workers, and prints the peak resident memory of the grader's own
processes: the command (its high-water mark, read by itself as it ends), each of its Dask
worker and nanny processes (their high-water marks, VmHWM, read from /proc until they end),
and their sum, an upper bound of the processes' peak together. The students' kernels,
capped one by one by their cgroups, are not counted. Also prints the size of OUT per student.

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
from autograder.__main__ import main
try:
    main(sys.argv[2:])
finally:
    with open(sys.argv[1], "w") as handle:
        handle.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))  # KiB
"""
PYTHON = os.path.realpath(sys.executable)


def _children(pid):
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found = []
    for task in tasks:
        try:
            found += [int(c) for c in open(f"/proc/{pid}/task/{task}/children").read().split()]
        except OSError:
            pass
    return found


def _grader_processes(pid):
    """The Python processes below pid, but not inside a kernel's sandbox (bubblewrap)."""
    for child in _children(pid):
        try:
            exe = os.path.realpath(f"/proc/{child}/exe")
        except OSError:
            continue
        if os.path.basename(exe) == "bwrap":
            continue
        if exe == PYTHON:
            yield child
        yield from _grader_processes(child)


def _hwm_kib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None


def measure(n, work):
    """(seconds, command's peak MiB, {worker pid: peak MiB}, MiB of OUT per student) for a batch of n."""
    folder = work / f"batch-{n}"
    shutil.rmtree(folder, ignore_errors=True)
    write(batch(n), folder / "submissions")
    peak_file = folder / "command-peak"
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", COMMAND, str(peak_file), "grade", str(folder / "submissions"),
                                "--out", str(folder / "out")], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    workers = {}
    while process.poll() is None:
        for pid in _grader_processes(process.pid):
            hwm = _hwm_kib(pid)
            if hwm is not None:
                workers[pid] = max(workers.get(pid, 0), hwm)
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"grading {n} submissions failed with exit code {process.returncode}")
    out = subprocess.run(["du", "-sk", str(folder / "out")], capture_output=True, text=True, check=True)
    out_mib = int(out.stdout.split()[0]) / 1024
    return seconds, int(peak_file.read_text()) / 1024, {pid: kib / 1024 for pid, kib in workers.items()}, out_mib / n


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", type=int, nargs="*", default=[100, 500], help="batch sizes (100 500)")
    parser.add_argument("--workdir", type=Path, help="keep the batches and results here (default: a temporary folder)")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="grading-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"{'submissions':>11s}{'seconds':>9s}{'command MiB':>13s}{'workers MiB':>24s}{'sum MiB':>9s}"
          f"{'OUT MiB/student':>17s}")
    for n in args.sizes:
        seconds, command, workers, out = measure(n, work)
        each = " ".join(f"{mib:.0f}" for mib in sorted(workers.values()))
        print(f"{n:11d}{seconds:9.1f}{command:13.1f}{each:>24s}{command + sum(workers.values()):9.1f}{out:17.2f}",
              flush=True)
    if not args.workdir:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
