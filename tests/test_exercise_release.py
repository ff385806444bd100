"""exercises/ is exactly what nbgrader generates from solutions/, and gives nothing away."""

import nbformat

from conftest import ROOT
from notebook_cells import EXERCISE, graded_tests, secret_fragments

RELEASED = ROOT / "exercises" / "dropout"


def files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_exercises_match_a_fresh_generation(course):
    fresh, committed = files(course / "exercises" / "dropout"), files(RELEASED)
    assert fresh.keys() == committed.keys(), "exercises/ has other files than nbgrader generates: run `make exercises`"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"exercises/ differs from solutions/ in {stale}: run `make exercises`, never edit by hand"


def test_nothing_released_contains_solution_code_or_hidden_tests():
    secrets = secret_fragments()
    assert len(secrets) > 30, "the leak check found too few solution lines to be meaningful"
    for name, content in files(RELEASED).items():
        text = content.decode()
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"exercises/dropout/{name} contains solution or hidden-test lines: {leaked[:5]}"
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text


def test_student_notebook_has_stubs_and_visible_checks():
    nb = nbformat.read(EXERCISE, as_version=4)
    nbformat.validate(nb)
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    answers = [cell for cell in nb.cells if cell.source.strip() == "YOUR ANSWER HERE"]
    assert code.count("raise NotImplementedError()") == 3, "one stub per function to write"
    assert len(answers) == 2, "one answer cell per question"
    assert "check_kept_fraction(dropout_forward, p=0.3, seed=0)" in code


def test_readme_counts_the_graded_cells_and_points():
    tests = graded_tests(EXERCISE)
    assert f"{len(tests)} autograded test cells ({sum(tests.values())} points)" in (ROOT / "README.md").read_text()
