"""Every check fails on the bug it names and on nothing else.

Each mutant is the solution with one bug patched in; the table says exactly which graded
test cells (visible and hidden parts together) it must fail.
"""

import pytest

from mutants import ALTERNATIVES, BACKWARD, CS231N_BACKWARD, CS231N_FORWARD, FORWARD, MUTANTS, patched_answers
from notebook_cells import EXERCISE, answer_source, failed_tests, graded_tests

EXPECTED = {
    "no division by p": {"test_forward_mask_values", "test_forward_training_mean"},
    "multiply by p": {"test_forward_mask_values", "test_forward_training_mean"},
    "p used as drop probability": {"test_forward_kept_fraction", "test_forward_mask_values",
                                   "test_forward_uniform_draws"},
    "normal draws (randn)": {"test_forward_kept_fraction", "test_forward_training_mean",
                             "test_forward_uniform_draws"},
    "mask applied at test time": {"test_forward_test_mode"},
    "test time multiplies by p": {"test_forward_test_mode"},
    "backward ignores the mask": {"test_backward_applies_mask", "test_backward_mask_without_seed",
                                  "test_backward_numeric_gradient"},
    "test-mode backward scales by p": {"test_backward_test_mode"},
    "backward forgets 1/p": {"test_backward_applies_mask", "test_backward_numeric_gradient"},
    "one seed for every layer (CS231n)": {"test_layers_independent"},
    "layers share one dict": {"test_layers_copy_settings", "test_layers_independent"},
    "layer seeds from SeedSequence.entropy": {"test_layers_independent"},
    "layer seeds drawn from the global generator": {"test_layer_seeds_reproducible"},
    "layers seeded without a network seed": {"test_layers_unseeded_without_seed"},
    # A gradient check needs a reproducible mask, so the numeric gradient check fails too.
    "seed ignored": {"test_forward_reproducible_with_seed", "test_backward_numeric_gradient"},
    "fixed seed when none is given": {"test_forward_fresh_mask_without_seed"},
    "forward updates x in place": {"test_no_in_place_updates"},
    "backward updates dout in place": {"test_no_in_place_updates"},
    "float64 mask changes the dtype": {"test_forward_keeps_dtype"},
    "mask of the wrong shape, broadcast": {"test_forward_output_shape"},
    # Its backward pass is right for dropout but not for its own forward pass, so the backward
    # checks fail too; their messages send the student to dropout_forward.
    "ReLU inside dropout": {"test_forward_mask_values", "test_forward_training_mean", "test_backward_applies_mask",
                            "test_backward_mask_without_seed", "test_backward_numeric_gradient"},
    "backward redraws the mask from the seed": {"test_backward_mask_without_seed"},
    "seed plus layer index": {"test_layer_seeds_across_networks"},
    # The in-place check calls the test-mode backward pass too.
    "test-mode backward multiplies by the None mask": {"test_backward_test_mode", "test_no_in_place_updates"},
    "unknown mode rejected by assert": {"test_forward_rejects_bad_input"},
    "layer seeds are SeedSequence objects": {"test_layer_seeds_reproducible"},
}

# Words each of these mutants' messages must contain: the bug named in the student's terms.
NAMED = {
    "ReLU inside dropout": "ReLU",
    "backward redraws the mask from the seed": "redraws the mask",
    "seed plus layer index": "Seed plus layer index",
    "test-mode backward multiplies by the None mask": "dropout_backward raised TypeError in test mode",
    "unknown mode rejected by assert": "an assert statement raises AssertionError",
    "layer seeds are SeedSequence objects": "integer seed of its own",
}


def test_every_mutant_has_an_expectation():
    assert set(EXPECTED) == set(MUTANTS)
    assert len(MUTANTS) >= 12


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_fails_exactly_the_checks_that_name_its_bug(name):
    failures = failed_tests(answers=patched_answers(MUTANTS[name], answer_source))
    assert set(failures) == EXPECTED[name], failures
    for message in failures.values():
        assert message.startswith("AssertionError: "), f"a check crashed instead of explaining: {message}"


@pytest.mark.parametrize("name", sorted(NAMED))
def test_messages_name_the_bug(name):
    failures = failed_tests(answers=patched_answers(MUTANTS[name], answer_source))
    assert failures, f"{name} loses no points"
    for grade_id, message in failures.items():
        assert NAMED[name] in message, f"{grade_id}: {message}"


def test_every_check_catches_some_mutant():
    caught = set().union(*EXPECTED.values())
    untested = set(graded_tests()) - caught - {"test_forward_rejects_bad_input"}
    assert not untested, f"checks that no mutant fails: {untested}"


def test_solution_passes_every_check():
    assert failed_tests() == {}


def test_stubs_fail_every_check():
    assert set(failed_tests(EXERCISE)) == set(graded_tests())


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_other_derivations_of_layer_seeds_are_accepted(name):
    """Any sound derivation from SeedSequence (or a Generator seeded with the network seed) earns every point."""
    assert failed_tests(answers=patched_answers(ALTERNATIVES[name], answer_source)) == {}


def test_cs231n_code_drops_in():
    """CS231n's implementation passes every check except input validation, which it lacks."""
    failures = failed_tests(answers={FORWARD: CS231N_FORWARD, BACKWARD: CS231N_BACKWARD})
    assert set(failures) == {"test_forward_rejects_bad_input"}
