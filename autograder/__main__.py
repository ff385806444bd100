"""python -m autograder grade SUBMISSIONS --out OUT: grades, feedback and a report for a batch."""

import argparse
import os
import shutil
import sys
from pathlib import Path

from tqdm import tqdm

from autograder import cluster, confine, grading
from autograder.report import write_grades, write_report
from autograder.submissions import SubmissionsError, collect, prepare
from autograder.worker import Graded, Limits

DESCRIPTION = """\
Grade a batch of dropout notebooks with nbgrader.

SUBMISSIONS is a folder with one folder per student (<student_id>/.../<notebook>.ipynb),
a flat folder of <student_id>.ipynb files, or a .zip of either. OUT receives:
  grades.csv        one row per student: status, score, max_score, points per check
  feedback/<id>/    nbgrader's HTML feedback for each graded student (no hidden tests)
  report.html       score histogram, pass rate of every check, submissions to look at
  course/           the nbgrader course (gradebook.db, autograded/, ...): run nbgrader's
                    own tools there, e.g. `nbgrader formgrader` for the written answers
                    and `nbgrader export` for a grades table
A submission that cannot be graded gets its reason in grades.csv and the others are
still graded. The exit code is 0 unless nothing could be graded at all.

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
    grade.add_argument("--cell-timeout", type=int, default=10, metavar="S", help="seconds one cell may run (10)")
    grade.add_argument("--submission-timeout", type=int, default=300, metavar="S",
                       help="seconds one submission may take in all (300)")
    grade.add_argument("--memory-mb", type=int, default=2048, metavar="MB", help="memory cap per submission (2048)")
    where = grade.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)), metavar="N",
                       help="grade N submissions at a time on this machine (default: the number of cores)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on an existing Dask cluster, e.g. tcp://10.0.0.5:8786")
    args = parser.parse_args(argv)
    for name in ("workers", "cell_timeout", "submission_timeout", "memory_mb"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def grade(args):
    out = args.out
    if out.exists() and any(out.iterdir()):
        if not args.force:
            sys.exit(f"error: {out} exists and is not empty; choose another --out or add --force")
        shutil.rmtree(out)
    limits = Limits(args.cell_timeout, args.submission_timeout, args.memory_mb)
    try:
        if not args.scheduler:
            confine.check()
        out.mkdir(parents=True, exist_ok=True)
        submissions = collect(args.submissions, out)
        with cluster.connect(workers=args.workers, scheduler=args.scheduler) as client:
            warming = cluster.warm_up(client)  # the workers load nbgrader while the course is made
            released, kit = grading.create_course(out / "course", limits)
            statuses = _grade(client, out / "course", submissions, released, kit, limits)
            del warming
    except (SubmissionsError, confine.ConfinementError, cluster.ClusterError, grading.CourseError) as error:
        sys.exit(f"error: {error}")
    tests = [{"grade_id": c.metadata["nbgrader"]["grade_id"], "points": c.metadata["nbgrader"]["points"]}
             for c in released.cells if c.metadata.get("nbgrader", {}).get("grade")]
    found = grading.results(out / "course", list(statuses))
    rows = []
    for submission in submissions:
        status = statuses[submission.student_id]
        result = found.get(submission.student_id) if status.startswith("graded") else None
        if result is None and status.startswith("graded"):
            status = "nbgrader recorded no grades"
        feedback = out / "course" / "feedback" / submission.student_id / grading.ASSIGNMENT
        if result and feedback.is_dir():
            shutil.copytree(feedback, out / "feedback" / submission.student_id)
        rows.append({"student_id": submission.student_id, "status": status,
                     "score": result.score if result else None,
                     "max_score": result.max_score if result else sum(t["points"] for t in tests),
                     "cells": result.cells if result else {},
                     "manual_pending": bool(result and result.manual_pending)})
    write_grades(out / "grades.csv", rows, [t["grade_id"] for t in tests])
    write_report(out / "report.html", rows, tests)
    graded = sum(1 for r in rows if r["score"] is not None)
    print(f"graded {graded} of {len(rows)} submissions; results in {out}")
    return 0 if graded else 1


def _grade(client, course, submissions, released, kit, limits):
    """Grade every submission on the workers and record each result; return student_id -> status."""
    statuses, remarks, jobs = {}, {}, []
    for submission in submissions:
        try:
            remarks[submission.student_id] = prepare(
                submission, released, grading.submission_path(course, submission.student_id))
        except ValueError as problem:
            statuses[submission.student_id] = str(problem)
            continue
        jobs.append((submission.student_id, grading.submission_path(course, submission.student_id).read_text()))
    with tqdm(total=len(submissions), initial=len(statuses), desc="grading", unit="submission",
              file=sys.stderr) as progress, grading.Recorder(course) as recorder:
        for student_id, outcome in cluster.grade_all(client, kit, jobs):
            statuses[student_id] = _status(recorder, outcome, remarks[student_id], limits)
            progress.update()
    return statuses


def _status(recorder, outcome, remarks, limits):
    """Record one outcome in the course; return the student's status."""
    if not isinstance(outcome, Graded):
        return f"grading failed on a worker: {type(outcome).__name__}: {outcome}"[:200]
    if outcome.failure:
        return outcome.failure
    try:
        nb = recorder.record(outcome)
    except Exception as error:  # noqa: BLE001 - this student is reported, the others still recorded
        return f"the gradebook refused its grades: {type(error).__name__}: {error}"[:200]
    remarks = remarks + grading.observations(nb, limits)
    return "graded" + (f": {'; '.join(remarks)}" if remarks else "")


def main(argv=None):
    args = parse(argv)
    # nbgrader runs `alembic` from PATH when it creates a gradebook: this environment's, then
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return grade(args)


if __name__ == "__main__":
    sys.exit(main())
