"""The grading command, `python -m autograder grade SUBMISSIONS --out OUT`: grades, feedback and a report for a batch."""

import argparse
import csv
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from distributed import KilledWorker

from tqdm import tqdm

from autograder import cluster, confine, grading, phases, worker
from autograder.report import write_grades, write_report, write_resources
from autograder.submissions import SubmissionsError, collect, prepare
from autograder.worker import Graded, Limits

DESCRIPTION = """\
Grade a batch of dropout notebooks with nbgrader.

SUBMISSIONS is a folder with one folder per student (<student_id>/.../<notebook>.ipynb),
a flat folder of <student_id>.ipynb files, or a .zip of either. OUT receives:
  grades.csv        one row per student: status, language (en, ko) of the notebook, score,
                    max_score, points per check
  feedback/<id>/    nbgrader's HTML feedback for each graded student (no hidden tests), the
                    same files as in course/feedback/ (hard links: on disk once)
  report.html       score histogram, pass rate of every check, submissions to look at
  course/           the nbgrader course (gradebook.db, autograded/, ...): run nbgrader's
                    own tools there, e.g. `nbgrader formgrader` for the written answers
                    and `nbgrader export` for a grades table
  resources.csv     what grading each submission cost: seconds, peak memory and processes, CPU-seconds
A submission that cannot be graded gets its reason in grades.csv and the others are
still graded. The exit code is 0 when every submission got a status about itself (graded,
or what is wrong with it); a submission the grader could not grade for its own reasons (a
lost worker, a cluster error) is tried again, and if it still fails its status says
"not graded: ...", the command names it and exits with 3: --resume grades just those.

Each submission's processes are capped together, by the kernel: time (--submission-timeout,
--cell-timeout), memory of its processes and files (--memory-mb), processes and threads
(--processes), CPU-seconds (--cpu-seconds), files written (--disk-mb) and output kept per
cell (--output-kb). The caps a machine cannot give are named at start.

Student code runs confined by bubblewrap (bwrap): it sees Python and its own folder,
nothing of the course, the other students or your files, and has no network.
Submissions are graded in parallel by --workers processes on this machine, or on an
existing Dask cluster with --scheduler (its workers need this package, nbgrader and
bwrap installed; start them with `dask worker ADDRESS --nthreads 1 --nworkers -1`). Either way this
process alone writes the gradebook, and a worker that dies has its work redone.
"""


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade a batch of submissions", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    grade.add_argument("submissions", type=Path, help="folder or .zip of submissions")
    grade.add_argument("--out", type=Path, required=True, help="folder for the results (must not exist, see --force)")
    grade.add_argument("--force", action="store_true", help="replace OUT if it exists (its gradebook is lost)")
    grade.add_argument("--resume", action="store_true",
                       help="grade into the OUT of an earlier run just the submissions it could not grade for "
                            "its own reasons (status 'not graded: ...') and any new ones; the others keep their grades")
    grade.add_argument("--cell-timeout", type=int, default=10, metavar="S", help="seconds one cell may run (10)")
    grade.add_argument("--submission-timeout", type=int, default=300, metavar="S",
                       help="seconds one submission may take in all (300)")
    grade.add_argument("--memory-mb", type=int, default=2048, metavar="MB",
                       help="memory of one submission's processes and of the files they write, together (2048)")
    grade.add_argument("--processes", type=int, default=64, metavar="N",
                       help="processes and threads one submission may run at once (64)")
    grade.add_argument("--cpu-seconds", type=int, default=120, metavar="S",
                       help="CPU-seconds one submission may use, all its processes together (120)")
    grade.add_argument("--disk-mb", type=int, default=256, metavar="MB",
                       help="MiB of files one submission may write to its folder, and to its /tmp (256 each)")
    grade.add_argument("--output-kb", type=int, default=1024, metavar="KB",
                       help="KiB of output each cell keeps; the rest is cut, at no cost in points (1024)")
    where = grade.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)), metavar="N",
                       help="grade N submissions at a time on this machine (default: the number of cores)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on an existing Dask cluster, e.g. tcp://10.0.0.5:8786")
    args = parser.parse_args(argv)
    for name in ("workers", "cell_timeout", "submission_timeout", "memory_mb", "processes", "cpu_seconds",
                 "disk_mb", "output_kb"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


NOT_GRADED = "not graded: "  # a status for the grader's own reasons, not the submission's
AGAIN = "; grade it again with --resume"


def grade(args):
    out = args.out
    previous = {}
    if args.resume:
        if not (out / "grades.csv").is_file() or not (out / "course" / "gradebook.db").is_file():
            sys.exit(f"error: --resume needs the OUT of an earlier run, with grades.csv and course/; {out} has none")
        previous = read_statuses(out / "grades.csv")
    elif out.exists() and any(out.iterdir()):
        if not args.force:
            sys.exit(f"error: {out} exists and is not empty; choose another --out, add --force, or --resume")
        shutil.rmtree(out)
    limits = Limits(args.cell_timeout, args.submission_timeout, args.memory_mb, output_kb=args.output_kb,
                    processes=args.processes, cpu_seconds=args.cpu_seconds, disk_mb=args.disk_mb)
    try:
        if not args.scheduler:
            confine.check()
        out.mkdir(parents=True, exist_ok=True)
        submissions = collect(args.submissions, out)
        statuses = {s.student_id: previous[s.student_id] for s in submissions
                    if s.student_id in previous and not previous[s.student_id].startswith(NOT_GRADED)}
        todo = [s for s in submissions if s.student_id not in statuses]
        with cluster.connect(workers=args.workers, scheduler=args.scheduler) as client:
            for note in cluster.missing_caps(client):
                print(f"note: {note}", file=sys.stderr)
            warming = cluster.warm_up(client, limits)  # the workers get ready while the course is made
            if args.resume:  # the same course made aside, for its released notebook and kit
                aside = Path(tempfile.mkdtemp(dir=out, prefix="course-"))
                try:
                    released, kit = grading.create_course(aside / "course", limits)
                finally:
                    shutil.rmtree(aside)
            else:
                released, kit = grading.create_course(out / "course", limits)
            statuses.update(_grade(client, out / "course", todo, released, kit, limits))
            del warming
    except (SubmissionsError, confine.ConfinementError, cluster.ClusterError, grading.CourseError) as error:
        sys.exit(f"error: {error}")
    tests = [{"grade_id": c.metadata["nbgrader"]["grade_id"], "points": c.metadata["nbgrader"]["points"]}
             for c in released["en"].cells if c.metadata.get("nbgrader", {}).get("grade")]
    languages = {**read_column(out / "grades.csv", "language"), **_languages} if args.resume else _languages
    found = grading.results(out / "course", list(statuses))
    rows = []
    for submission in submissions:
        status = statuses[submission.student_id]
        result = found.get(submission.student_id) if status.startswith("graded") else None
        if result is None and status.startswith("graded"):
            status = f"{NOT_GRADED}nbgrader recorded no grades for it{AGAIN}"
        feedback = out / "course" / "feedback" / submission.student_id / grading.ASSIGNMENT
        if result and feedback.is_dir():
            shutil.copytree(feedback, out / "feedback" / submission.student_id, copy_function=link,
                            dirs_exist_ok=True)
        rows.append({"student_id": submission.student_id, "status": status,
                     "language": languages.get(submission.student_id, ""),
                     "score": result.score if result else None,
                     "max_score": result.max_score if result else sum(t["points"] for t in tests),
                     "cells": result.cells if result else {},
                     "manual_pending": bool(result and result.manual_pending)})
    write_grades(out / "grades.csv", rows, [t["grade_id"] for t in tests])
    write_report(out / "report.html", rows, tests)
    write_resources(out / "resources.csv", rows, _resources, previous=out / "resources.csv")
    graded = sum(1 for r in rows if r["score"] is not None)
    print(f"graded {graded} of {len(rows)} submissions; results in {out}")
    failed = [r["student_id"] for r in rows if r["status"].startswith(NOT_GRADED)]
    if failed:
        print(f"error: {len(failed)} submissions could not be graded for the grader's own reasons (see grades.csv): "
              f"{', '.join(failed)}; run the same command with --resume to grade just them into {out}",
              file=sys.stderr)
        return 3
    return 0


def link(source, target):
    """target becomes another name of the file source (one copy on disk), or a copy where it cannot be one."""
    Path(target).unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(source, target)


def read_statuses(path):
    """student_id -> status in an earlier run's grades.csv."""
    return read_column(path, "status")


def read_column(path, name):
    """student_id -> one column of an earlier run's grades.csv."""
    with open(path, newline="") as handle:
        return {row["student_id"]: row.get(name) or "" for row in csv.DictReader(handle)}


_resources = {}  # student_id -> what grading them cost (worker.Graded.usage)
_languages = {}  # student_id -> the language of their notebook (submissions.edition)


def _grade(client, course, submissions, released, kit, limits):
    """Grade the submissions on the workers and record each result; return student_id -> status.

    A submission is prepared when a worker is about to be free for it, and its notebook and
    results are let go once recorded: only the jobs in flight (cluster.grade_all) are held.
    """
    statuses, remarks, prepared = {}, {}, {}
    progress = tqdm(total=len(submissions), desc="grading", unit="submission", file=sys.stderr)

    def jobs():
        for submission in submissions:
            student_id, start = submission.student_id, time.thread_time()
            try:
                _languages[student_id], remarks[student_id] = prepare(
                    submission, released, grading.submission_path(course, student_id))
            except ValueError as problem:
                statuses[student_id] = str(problem)
                progress.update()
                continue
            notebook = grading.submission_path(course, student_id).read_text()
            prepared[student_id] = time.thread_time() - start
            yield student_id, notebook

    with progress, grading.Recorder(course) as recorder:
        for student_id, outcome in cluster.grade_all(client, kit, jobs()):
            start, preparing = time.thread_time(), prepared.pop(student_id)
            statuses[student_id] = _status(recorder, student_id, outcome, remarks.pop(student_id), limits)
            if student_id in _resources:
                _resources[student_id].setdefault("cpu", {}).update(
                    {phases.PREPARE: preparing, phases.RECORD: time.thread_time() - start})
            progress.update()
    return statuses


def _status(recorder, student_id, outcome, remarks, limits):
    """Record one outcome in the course; return the student's status. What went wrong in the grader goes to stderr."""
    if not isinstance(outcome, Graded):
        tqdm.write(f"note: {student_id}: {type(outcome).__name__}: {outcome}"[:500], file=sys.stderr)
        if isinstance(outcome, KilledWorker):
            return f"{NOT_GRADED}grading it stopped the worker process again and again{AGAIN}"
        return f"{NOT_GRADED}the grader lost the worker grading it{AGAIN}"
    _resources[student_id] = outcome.usage
    if outcome.detail:
        tqdm.write(f"note: {student_id}: nbgrader said: ...{outcome.detail[-800:]}", file=sys.stderr)
    if outcome.failure:
        return outcome.failure if outcome.failure != worker.GRADER_FAILED else f"{NOT_GRADED}{outcome.failure}{AGAIN}"
    try:
        nb = recorder.record(outcome)
    except Exception as error:  # noqa: BLE001 - this student is reported, the others still recorded
        tqdm.write(f"note: {student_id}: the gradebook refused its grades: {type(error).__name__}: {error}"[:500],
                   file=sys.stderr)
        return f"{NOT_GRADED}the gradebook refused its grades{AGAIN}"
    remarks = remarks + grading.observations(nb, limits) + outcome.breaches
    return "graded" + (f": {'; '.join(remarks)}" if remarks else "")


def main(argv=None):
    args = parse(argv)
    # nbgrader runs `alembic` from PATH when it creates a gradebook: this environment's, then
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return grade(args)
