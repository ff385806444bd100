"""python -m autograder grade SUBMISSIONS --out OUT: grades, feedback and a report for a batch."""

import argparse
import shutil
import sys
from pathlib import Path

from tqdm import tqdm

from autograder import grading
from autograder.report import write_grades, write_report
from autograder.submissions import SubmissionsError, collect, prepare

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
    return parser.parse_args(argv)


def grade(args):
    out = args.out
    if out.exists() and any(out.iterdir()):
        if not args.force:
            sys.exit(f"error: {out} exists and is not empty; choose another --out or add --force")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    limits = grading.Limits(args.cell_timeout, args.submission_timeout, args.memory_mb)
    try:
        submissions = collect(args.submissions, out)
    except SubmissionsError as error:
        sys.exit(f"error: {error}")
    course = out / "course"
    try:
        released = grading.create_course(course, limits)
    except RuntimeError as error:
        sys.exit(f"error: {error}")
    tests = [{"grade_id": c.metadata["nbgrader"]["grade_id"], "points": c.metadata["nbgrader"]["points"]}
             for c in released.cells if c.metadata.get("nbgrader", {}).get("grade")]

    statuses = {}
    for submission in tqdm(submissions, desc="grading", unit="submission", file=sys.stderr):
        try:
            remarks = prepare(submission, released, grading.submission_path(course, submission.student_id))
        except ValueError as problem:
            statuses[submission.student_id] = str(problem)
            continue
        failure = grading.autograde(course, submission.student_id, limits)
        if failure:
            statuses[submission.student_id] = failure
            continue
        remarks += grading.observations(course, submission.student_id, limits)
        statuses[submission.student_id] = "graded" + (f": {'; '.join(remarks)}" if remarks else "")

    found = grading.results(course, [s.student_id for s in submissions])
    if found:
        grading.generate_feedback(course)
        for student_id in found:
            source = course / "feedback" / student_id / grading.ASSIGNMENT
            if source.is_dir():
                shutil.copytree(source, out / "feedback" / student_id, dirs_exist_ok=True)
    rows = []
    for submission in submissions:
        status = statuses[submission.student_id]
        result = found.get(submission.student_id) if status.startswith("graded") else None
        if result is None and status.startswith("graded"):
            status = "nbgrader recorded no grades"
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


def main(argv=None):
    args = parse(argv)
    return grade(args)


if __name__ == "__main__":
    sys.exit(main())
