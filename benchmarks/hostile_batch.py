"""What hostile submissions cost when graded beside honest ones: wall time and peak resources against the caps.

Grades the batch of tests/test_hostile_grading.py (notebooks that print too much, never
return, ignore interrupts, fork, fill memory, /tmp and their folder, leave daemons, burn
CPU, next to honest ones) with `python -m autograder grade` and its default caps (or the
flags given after --), and prints per submission the seconds its grading took, its peak
memory (MiB, its processes and files together), its peak number of processes and
threads, and its CPU-seconds, each against its cap, then the whole batch's time and the
peak memory of the grading processes themselves (the command and its Dask workers, not the
students' kernels), sampled every 0.1 s.

Usage: .venv/bin/python benchmarks/hostile_batch.py [--workers N] [--workdir DIR] [-- GRADE-FLAGS...]
"""

import argparse
import csv
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_hostile_grading import CPU_HOG, HONEST, HOSTILE  # noqa: E402
from test_grade_command import write_batch  # noqa: E402
from test_submission_timeout import worst_case  # noqa: E402

from autograder.command import parse  # noqa: E402


def table(path):
    with open(path, newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def grader_peak_mib(command, stop, peak):
    """Largest RSS of command and of its Dask worker processes (spawned by multiprocessing), until stop."""
    while not stop.is_set():
        try:
            processes = [command] + [p for p in command.children(recursive=True)
                                     if "multiprocessing" in " ".join(p.cmdline())]
            for process in processes:
                peak[process.pid] = max(peak.get(process.pid, 0), process.memory_info().rss / 2**20)
        except psutil.Error:
            pass
        time.sleep(0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("flags", nargs="*", help="flags for `grade` (after --)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hostile-", dir=args.workdir))
    submissions = write_batch(work / "submissions", {**HONEST, **HOSTILE, "burns_cpu": CPU_HOG,
                                                     "slowest_output": worst_case(2)})
    out = work / "out"
    argv = ["grade", str(submissions), "--out", str(out), "--workers", str(args.workers), *args.flags]
    caps = parse(argv)
    start = time.monotonic()
    command = subprocess.Popen([sys.executable, "-m", "autograder", *argv], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    stop, peak = threading.Event(), {}
    sampler = threading.Thread(target=grader_peak_mib, args=(psutil.Process(command.pid), stop, peak))
    sampler.start()
    stdout, stderr = command.communicate()
    stop.set()
    sampler.join()
    result = subprocess.CompletedProcess(command.args, command.returncode, stdout, stderr)
    seconds = time.monotonic() - start
    if not (out / "grades.csv").exists():
        sys.exit(f"grading failed ({result.returncode}):\n{result.stderr[-3000:]}")
    grades, used = table(out / "grades.csv"), table(out / "resources.csv")
    print(f"caps: {caps.submission_timeout} s per submission, {caps.cell_timeout} s per cell, {caps.memory_mb} MiB, "
          f"{caps.processes} processes, {caps.cpu_seconds} CPU-seconds, {caps.disk_mb} MiB of files, "
          f"{caps.output_kb} KiB of output per cell; {args.workers} workers")
    header = f"{'submission':<20} {'seconds':>8} {'MiB':>7} {'procs':>6} {'CPU-s':>6}  status"
    print(header)
    print("-" * len(header))
    for student in sorted(grades, key=lambda s: (s not in HONEST, s)):
        row = used.get(student, {})
        print(f"{student:<20} {row.get('seconds', ''):>8} {row.get('memory_mb', ''):>7} {row.get('processes', ''):>6} "
              f"{row.get('cpu_seconds', ''):>6}  {grades[student]['status'][:90]}")
    print("-" * len(header))
    print(f"{'cap':<20} {caps.submission_timeout:>8} {caps.memory_mb:>7} {caps.processes:>6} {caps.cpu_seconds:>6}")
    print(f"whole batch: {len(grades)} submissions in {seconds:.1f} s, exit code {result.returncode}")
    print(f"grading processes: peak RSS {max(peak.values(), default=0):.0f} MiB (largest of {len(peak)})")
    for line in result.stderr.splitlines():
        if line.startswith(("note:", "error:")):
            print(line)


if __name__ == "__main__":
    main()
