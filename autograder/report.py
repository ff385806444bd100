"""grades.csv and report.html: what the class scored, which checks it failed, who needs a look."""

import base64
import csv
import html
import io
from collections import Counter

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from autograder.phases import PHASES  # noqa: E402


def write_grades(path, rows, columns):
    """One row per student: id, status, language, score, max_score, then points per graded cell."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "status", "language", "score", "max_score", *columns])
        for row in rows:
            cells = row["cells"]
            writer.writerow([row["student_id"], row["status"], row["language"], _number(row["score"]),
                             _number(row["max_score"]),
                             *(_number(cells.get(column)) for column in columns)])


def _number(value):
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else value


def _png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def write_report(path, rows, tests):
    """report.html: score histogram, pass rate of every test, and the submissions to look at."""
    graded = [r for r in rows if r["score"] is not None]
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist([r["score"] for r in graded], bins=20, color="C0")
    ax.set(xlabel="score", ylabel="students", title=f"scores of {len(graded)} graded submissions")
    histogram = _png(fig)

    rates = [sum(1 for r in graded if r["cells"].get(t["grade_id"]) == t["points"]) / max(len(graded), 1) for t in tests]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(tests) + 1))
    ax.barh([t["grade_id"] for t in tests], rates, color="C2")
    ax.invert_yaxis()
    ax.set(xlim=(0, 1), xlabel="fraction of graded submissions that pass", title="pass rate of each check")
    pass_rates = _png(fig)

    attention = [r for r in rows if r["status"] != "graded"]
    manual = sum(1 for r in graded if r["manual_pending"])
    items = "".join(f"<tr><td>{html.escape(r['student_id'])}</td><td>{html.escape(r['status'])}</td></tr>"
                    for r in attention)
    path.write_text(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Dropout exercise: grading report</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td{{padding:.2em .8em;border-bottom:1px solid #ddd}}</style>
</head><body>
<h1>Dropout exercise: grading report</h1>
<p>{len(rows)} submissions, {len(graded)} graded, {len(rows) - len(graded)} not graded.</p>
<p id="languages">Notebooks by language: {html.escape(_languages(rows))}.</p>
<h2>Scores</h2><img id="score-histogram" alt="Histogram of the scores of the graded submissions" src="data:image/png;base64,{histogram}">
<h2>Checks</h2><img id="pass-rates" alt="Bar chart of the fraction of graded submissions passing each check" src="data:image/png;base64,{pass_rates}">
<h2>Needs your attention</h2>
<p>{manual} graded submissions have written answers to grade by hand (<code>nbgrader formgrader</code> in the course folder).</p>
<table id="attention"><tr><th>student</th><th>status</th></tr>{items}</table>
</body></html>
""")


LANGUAGE_NAMES = {"en": "English", "ko": "Korean"}


def _languages(rows):
    """How many submissions of each language, e.g. "English 30, Korean 4"."""
    counts = Counter(row["language"] for row in rows if row["language"])
    return ", ".join(f"{LANGUAGE_NAMES.get(code, code)} {n}" for code, n in sorted(counts.items())) or "none read"


RESOURCES = {"seconds": 1, "memory_mb": 0, "processes": 0, "cpu_seconds": 2,  # column -> decimals
             **{phase: 3 for phase in PHASES}}


def write_resources(path, rows, usage, previous=None):
    """resources.csv: per student, the seconds grading took, its kernel's peak memory (MiB) and processes and
    CPU-seconds, then the CPU-seconds of each phase of its grading (autograder.phases).

    Students not graded in this run keep the figures of the run before (`previous`, the same file).
    """
    kept = {}
    if previous is not None and previous.is_file():
        with open(previous, newline="") as handle:
            kept = {row["student_id"]: row for row in csv.DictReader(handle)}
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", *RESOURCES])
        for row in rows:
            student = row["student_id"]
            if student in usage:
                figures = {**usage[student], **usage[student].get("cpu", {})}
                figures = [_figure(figures.get(name), digits) for name, digits in RESOURCES.items()]
            else:
                figures = [kept.get(student, {}).get(name, "") for name in RESOURCES]
            writer.writerow([student, *figures])


def _figure(value, digits):
    return "" if value is None else f"{value:.{digits}f}"
