"""Grading streams the batch: notebooks are taken as workers free up, results are kept once, and costs are told."""

import csv
import errno
import os

import pytest
from autograder import command as grade_command
from autograder import cluster, grading, phases, worker
from autograder.submissions import collect
from test_grade_command import BATCH, grade, rows_of, write_batch

KINDS = ("solution", "stubs", "no_division", "cs231n_seed", "not_json", "tampered_tests")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = write_batch(tmp_path_factory.mktemp("stream") / "submissions", {kind: BATCH[kind] for kind in KINDS})
    out = tmp_path_factory.mktemp("stream-out") / "out"
    result = grade(root, out, "--workers", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_each_feedback_page_is_on_disk_once_under_both_its_names(graded):
    rows = {student: row for student, row in rows_of(graded).items() if row["score"]}
    assert len(rows) == len(KINDS) - 1, rows  # all but the one that is not JSON
    for student, row in rows.items():
        page = graded / "feedback" / student / "dropout.html"
        course_page = graded / "course" / "feedback" / student / "dropout" / "dropout.html"
        assert os.path.samefile(page, course_page), f"{student}'s feedback is written twice"
        assert page.stat().st_nlink == 2, f"{student}'s feedback has {page.stat().st_nlink} names"
        text = page.read_text()
        assert text == course_page.read_text() and text.startswith("<!DOCTYPE html>"), student
        assert f"Score: {float(row['score'])} / {float(row['max_score'])}" in text, f"{student}'s page, not its score"


def test_a_link_across_file_systems_is_a_copy(tmp_path, monkeypatch):
    source, target = tmp_path / "page.html", tmp_path / "elsewhere.html"
    source.write_text("<p>feedback</p>")
    target.write_text("an older page")

    def cross_device(*args):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    grade_command.link(source, target)
    assert target.read_text() == "<p>feedback</p>" and not os.path.samefile(source, target)


def test_every_graded_submission_has_its_cpu_seconds_by_phase(graded):
    with open(graded / "resources.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    for student, row in rows.items():
        if not rows_of(graded)[student]["score"]:
            assert row["cpu_cells"] == "", f"{student} was not graded, yet has CPU-seconds"
            continue
        cpu = {name: float(row[name]) for name in phases.PHASES}
        assert all(seconds >= 0 for seconds in cpu.values()), (student, cpu)
        for name in (phases.KERNEL_START, phases.CELLS, phases.TESTS, phases.AUTOGRADE, phases.FEEDBACK,
                     phases.PREPARE, phases.RECORD):
            assert cpu[name] > 0, f"{student}: no CPU-seconds for {phases.PHASES[name]}"
        if row["cpu_seconds"]:  # the kernel's processes in their cgroup: the kernel's phases hold all of it
            kernel = cpu[phases.KERNEL_START] + cpu[phases.CELLS] + cpu[phases.TESTS]
            assert kernel >= float(row["cpu_seconds"]) - 0.02, (student, cpu, row["cpu_seconds"])


def test_submissions_are_prepared_as_workers_free_up(tmp_path, monkeypatch):
    """The command holds a window of notebooks, never the batch: each is prepared when one is recorded."""
    limits = worker.Limits(cell_seconds=3)
    root = write_batch(tmp_path / "submissions", {f"student{number:02d}": BATCH["stubs"] for number in range(20)})
    released, kit = grading.create_course(tmp_path / "course", limits)
    prepared, recorded, window = [], [], []
    prepare, record = grade_command.prepare, grading.Recorder.record

    def counted_prepare(submission, *args):
        prepared.append(submission.student_id)
        return prepare(submission, *args)

    def counted_record(self, graded):
        assert len(prepared) - len(recorded) <= window[0], f"{len(prepared)} prepared, {len(recorded)} recorded"
        recorded.append(graded.student_id)
        return record(self, graded)

    monkeypatch.setattr(grade_command, "prepare", counted_prepare)
    monkeypatch.setattr(grading.Recorder, "record", counted_record)
    with cluster.connect(workers=2) as client:
        window.append(cluster.IN_FLIGHT_PER_WORKER * len(client.scheduler_info()["workers"]))
        statuses = grade_command._grade(client, tmp_path / "course", collect(root, tmp_path), released, kit, limits)
    assert sorted(recorded) == sorted(statuses) == [f"student{number:02d}" for number in range(20)]
    assert all(status.startswith("graded") for status in statuses.values()), statuses
