"""Statistical tolerances hold for every seed 0-99: the solution and its correct alternatives
always pass, bugs always fail.

The test cells of the notebook are run as they are (visible and hidden calls), with each
seeded check called once per seed.
"""

import inspect

import pytest

import dropout_checks
from mutants import ALTERNATIVES, BACKWARD, CS231N_BACKWARD, CS231N_FORWARD, FORWARD, MUTANTS, patched_answers
from notebook_cells import answer_functions, answer_source, graded_cells
from test_exercise_mutants import EXPECTED

SEEDS = range(100)
STATISTICAL = {"test_forward_kept_fraction", "test_forward_uniform_draws",
               "test_forward_training_mean", "test_layers_independent", "test_layer_seeds_across_networks"}


def graded_cell_sources():
    return {grade_id: cell.source for grade_id, cell in graded_cells().items()}


def outcomes_per_seed(cell_source, functions):
    """Run one test cell with every seeded check repeated for seeds 0-99: [(call, seed, error)]."""
    results = []

    def sweep(check):
        def swept(*args, **kwargs):
            call = len({r[0] for r in results})
            for seed in SEEDS:
                try:
                    check(*args, **{**kwargs, "seed": seed})
                    results.append((call, seed, None))
                except AssertionError as error:
                    results.append((call, seed, str(error)))
        return swept

    namespace = dict(functions)
    for name, check in vars(dropout_checks).items():
        if name.startswith("check_"):
            seeded = "seed" in inspect.signature(check).parameters
            namespace[name] = sweep(check) if seeded else check
    exec(cell_source, namespace)
    return results


@pytest.mark.parametrize("grade_id", sorted(graded_cell_sources()))
def test_solution_passes_for_every_seed(grade_id):
    results = outcomes_per_seed(graded_cell_sources()[grade_id], answer_functions())
    failed = [(call, seed, error) for call, seed, error in results if error]
    assert not failed, failed[:3]


# Correct code other than the solution: each alternative, on the cells that call what it changes.
CORRECT = {**{name: patched_answers(patches, answer_source) for name, patches in ALTERNATIVES.items()},
           "CS231n's forward and backward": {FORWARD: CS231N_FORWARD, BACKWARD: CS231N_BACKWARD}}
CORRECT_CELLS = sorted(
    (name, grade_id) for name, answers in CORRECT.items() for grade_id, source in graded_cell_sources().items()
    if any(f"{function}," in source for function in answers) and grade_id != "test_forward_rejects_bad_input"
)  # CS231n's code does not validate its input: the one check it fails by design


@pytest.mark.parametrize("name, grade_id", CORRECT_CELLS)
def test_alternative_passes_for_every_seed(name, grade_id):
    results = outcomes_per_seed(graded_cell_sources()[grade_id], answer_functions(CORRECT[name]))
    failed = [(call, seed, error) for call, seed, error in results if error]
    assert not failed, failed[:3]


STATISTICAL_CATCHES = sorted(
    (name, grade_id) for name, grade_ids in EXPECTED.items() for grade_id in grade_ids & STATISTICAL
)


@pytest.mark.parametrize("name, grade_id", STATISTICAL_CATCHES)
def test_statistical_check_catches_bug_for_every_seed(name, grade_id):
    functions = answer_functions(patched_answers(MUTANTS[name], answer_source))
    results = outcomes_per_seed(graded_cell_sources()[grade_id], functions)
    passed = [(call, seed) for call, seed, error in results if error is None]
    assert results and not passed, f"{name} passes {grade_id} at (call, seed) {passed[:5]}"
