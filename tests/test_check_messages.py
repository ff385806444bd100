"""What a student reads: the checks' messages, the try cells and the notebook's first and last cells.

Every message comes from the checks module's one table; a raised exception is reported in the
course's terms, with the student's own error; the try cells and the summary tell the truth.
"""

import ast
import inspect
import re
import string

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

import dropout_checks
from conftest import ROOT
from mutants import MUTANTS, patched_answers
from notebook_cells import (EXERCISE, SOLUTION, answer_functions, answer_source, failed_tests, graded_cells,
                            nbgrader_meta)

CHECKS_SOURCE = (ROOT / "autograder" / "dropout_checks.py").read_text(encoding="utf-8")


def cell_source(grade_id):
    nb = nbformat.read(SOLUTION, as_version=4)
    (cell,) = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id]
    return cell.source


# ---------------------------------------------------------------- one message table


def test_every_message_comes_from_the_table():
    """No check builds an English sentence of its own: AssertionError and assert take _say(...) or a variable."""
    tree = ast.parse(CHECKS_SOURCE)
    for node in ast.walk(tree):
        texts = []
        if isinstance(node, ast.Assert) and node.msg is not None:
            texts.append(node.msg)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "AssertionError":
            texts.extend(node.args)
        for text in texts:
            assert not isinstance(text, (ast.Constant, ast.JoinedStr, ast.BinOp)), (
                f"line {text.lineno}: a message written in place; put it in MESSAGES")


def test_every_message_id_is_defined_and_used():
    used = set(re.findall(r'_say\(\s*"([\w.]+)"', CHECKS_SOURCE))
    used |= {f"title.{check.__name__}" for check in dropout_checks.CHECKS}
    used |= {f"expect.backward.{mode}" for mode in ("train", "test")}  # chosen by mode
    assert used <= set(dropout_checks.MESSAGES), used - set(dropout_checks.MESSAGES)
    assert set(dropout_checks.MESSAGES) <= used, f"unused messages: {set(dropout_checks.MESSAGES) - used}"


def test_templates_have_named_fields_only():
    for message_id, template in dropout_checks.MESSAGES.items():
        for _, field, _, _ in string.Formatter().parse(template):
            assert field is None or field.isidentifier(), f"{message_id}: field {field!r} is not named"


def test_source_writes_its_characters_not_escapes():
    """Tracebacks show the checker's source: − ± Φ · must read as themselves there."""
    assert not re.search(r"\\u[0-9a-fA-F]{4}|\\N\{", CHECKS_SOURCE)
    for character in "−±Φ·²":
        assert character in CHECKS_SOURCE


# ---------------------------------------------------------------- the student's exceptions


def raising(error):
    def function(*args, **kwargs):
        raise error
    return function


def test_a_raised_exception_is_reported_with_call_and_expectation_then_the_students_error():
    def dropout_forward(x, dropout_param):
        return x, (dropout_param, None)

    student_error = TypeError("unsupported operand type(s) for *: 'float' and 'NoneType'")
    with pytest.raises(AssertionError) as caught:
        dropout_checks.check_backward_test_mode(dropout_forward, raising(student_error), p=0.5, seed=0)
    message = str(caught.value)
    assert message.startswith("dropout_backward raised TypeError in test mode (p = 0.5")
    assert "expected dx = dout" in message
    assert message.endswith("Your code's error: TypeError: unsupported operand type(s) for *: 'float' and 'NoneType'")
    assert caught.value.__cause__ is student_error, "the traceback goes on to show the student's own exception"


def test_the_graders_sandbox_form_of_an_exception_reads_the_same():
    """The grader's sandbox passes an AssertionError as RuntimeError('AssertionError: ...')."""
    messages = []
    for error in (AssertionError("unknown mode"), RuntimeError("AssertionError: unknown mode")):
        with pytest.raises(AssertionError) as caught:
            dropout_checks.check_rejects_bad_input(raising(error))
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "raised AssertionError for p = 0.0, not ValueError: an assert statement" in messages[0]


def test_cs231n_code_is_told_what_to_raise():
    """CS231n's forward reaches out.astype with out None for an unknown mode."""
    from mutants import CS231N_FORWARD

    namespace = {"np": np}
    exec(CS231N_FORWARD, namespace)
    with pytest.raises(AssertionError) as caught:
        dropout_checks.check_rejects_bad_input(namespace["dropout_forward"], ps=())  # CS231n never checks p
    assert str(caught.value).startswith("dropout_forward raised AttributeError for mode = 'eval', not ValueError: "
                                        "check p and mode at the start of dropout_forward")
    assert "Your code's error: AttributeError: 'NoneType' object has no attribute 'astype'" in str(caught.value)


def test_a_stub_is_not_written_yet():
    with pytest.raises(AssertionError, match=r"^dropout_forward is not written yet: replace raise "
                                             r"NotImplementedError\(\)"):
        dropout_checks.check_output_shape(raising(NotImplementedError()))


def test_forward_that_returns_no_pair_is_told_so():
    with pytest.raises(AssertionError, match=r"^dropout_forward returned an object of type ndarray in train mode .*expected a pair"):
        dropout_checks.check_mask_values(lambda x, param: x * 1.0)


def test_a_branch_that_leaves_dx_unset_is_named():
    """CS231n's skeleton starts with dx = None: a test-mode branch left out returns None."""
    def dropout_backward(dout, cache):
        dx = None
        if cache[0]["mode"] == "train":
            dx = dout * cache[1]
        return dx

    forward = answer_functions()["dropout_forward"]
    with pytest.raises(AssertionError, match=r"^dropout_backward returned dx = None in test mode .*leave dx unset"):
        dropout_checks.check_backward_test_mode(forward, dropout_backward)


def test_integer_seed_message_gives_cs231ns_interface_as_the_reason_and_no_repr():
    functions = answer_functions(patched_answers(MUTANTS["layer seeds are SeedSequence objects"], answer_source))
    with pytest.raises(AssertionError) as caught:
        dropout_checks.check_layer_seeds_reproducible(functions["layer_dropout_params"])
    message = str(caught.value)
    assert "\n" not in message and "SeedSequence(" not in message and "entropy" not in message
    assert "layer 0's seed is an object of type SeedSequence" in message
    assert "CS231n's interface takes dropout_param['seed'] as an integer" in message
    assert "gradient check" not in message


# ---------------------------------------------------------------- the across-networks check's second half


def test_masks_of_different_network_seeds_must_be_unrelated():
    """Distinct layer seeds can still give related masks: a forward pass that uses only seed % 10."""
    layers = answer_functions()["layer_dropout_params"]

    def coarse_forward(x, dropout_param):
        rng = np.random.default_rng(dropout_param["seed"] % 10)
        return x * (rng.random(x.shape) < dropout_param["p"]) / dropout_param["p"], None

    with pytest.raises(AssertionError, match=r"masks of runs with different seeds must be unrelated"):
        dropout_checks.check_layer_seeds_across_networks(layers, coarse_forward, networks=6)


# ---------------------------------------------------------------- the try cells


def test_try_backward_is_not_fooled_by_an_in_place_forward_pass():
    functions = answer_functions(patched_answers(MUTANTS["forward updates x in place"], answer_source))
    namespace = {"np": np, "numeric_gradient": dropout_checks.numeric_gradient,
                 "rel_error": dropout_checks.rel_error, **functions}
    printed = []
    namespace["print"] = printed.append
    exec(cell_source("try_backward"), namespace)
    (line,) = printed
    assert float(line.split(": ")[1]) < 1e-8, f"the correct backward pass is blamed: {line}"


def network_gradient_errors(functions, net_seed):
    """The largest relative error that the try_network_gradient cell prints, for one network seed."""
    namespace = {"np": np, "numeric_gradient": dropout_checks.numeric_gradient,
                 "rel_error": dropout_checks.rel_error, **functions}
    exec(cell_source("dropout_net"), namespace)
    namespace["net"] = namespace["DropoutNet"]([5, 5, 5], input_dim=5, num_classes=3, keep_prob=0.6, seed=net_seed)
    printed = []
    namespace["print"] = printed.append
    exec(cell_source("try_network_gradient"), namespace)
    return max(float(line.split()[-1]) for line in printed)


def network_gradient_bound():
    (bound,) = re.findall(r"# expect < (\S+)", cell_source("try_network_gradient"))
    return float(bound)


def test_network_gradient_bound_holds_for_correct_code_over_200_network_seeds():
    """And the text above the cell is right: mostly below 1e-6, a few above 1e-4."""
    functions = answer_functions()
    errors = [network_gradient_errors(functions, seed) for seed in range(200)]
    assert max(errors) < network_gradient_bound() / 10, f"correct code reaches {max(errors):.1e}: too small a margin"
    assert np.median(errors) < 1e-6 < 1e-4 < max(errors)
    assert "are below $10^{-6}$, but a few\nexceed $10^{-4}$" in cell_source("part3_network")


@pytest.mark.parametrize("name", ["backward forgets 1/p", "backward ignores the mask"])
def test_network_gradient_bound_fails_a_wrong_backward_pass(name):
    functions = answer_functions(patched_answers(MUTANTS[name], answer_source))
    assert network_gradient_errors(functions, 123) > 10 * network_gradient_bound()


# ---------------------------------------------------------------- the first and the last cell


def test_without_the_checks_file_every_cell_says_what_to_download_and_no_name_is_undefined(tmp_path):
    """A completed notebook, but no dropout_checks.py beside it."""
    nb = nbformat.read(EXERCISE, as_version=4)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("solution") and cell.cell_type == "code":
            cell.source = answer_source(nbgrader_meta(cell)["grade_id"])
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs
              if output.output_type == "error"]
    kinds = {(output.ename, output.evalue) for output in errors}
    (setup,) = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == "setup"]
    assert [o.ename for o in setup.outputs] == ["ModuleNotFoundError"]
    assert kinds == {("ModuleNotFoundError", setup.outputs[0].evalue)}, kinds
    sentence = setup.outputs[0].evalue
    assert sentence.count(". ") == 0 and "dropout_checks.py" in sentence and "The exercise" in sentence
    assert "same folder as dropout.ipynb" in sentence
    assert len(errors) > len(graded_cells()), "every self-check cell should have said it"


def test_setup_cell_stands_in_for_every_name_the_notebook_imports():
    """The names the set-up cell stands in for are exactly those the checks module exports."""
    (names,) = [node.args[0].func.value.value for node in ast.walk(ast.parse(cell_source("setup")))
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "fromkeys"]
    assert sorted(names.split()) == sorted(dropout_checks.__all__)


def test_visible_calls_use_the_defaults_the_summary_runs():
    """self_check_summary runs each check with its defaults: the visible calls of the cells use the same."""
    called = set()
    for grade_id, cell in graded_cells().items():
        visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        for node in ast.walk(ast.parse(visible)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "").startswith("check_"):
                check = getattr(dropout_checks, node.func.id)
                defaults = {name: p.default for name, p in inspect.signature(check).parameters.items()
                            if p.default is not inspect.Parameter.empty}
                for keyword in node.keywords:
                    assert ast.literal_eval(keyword.value) == defaults[keyword.arg], (grade_id, keyword.arg)
                called.add(check)
    assert called == set(dropout_checks.CHECKS), "the summary runs exactly the checks of the cells"


def summary(functions, capsys):
    dropout_checks.self_check_summary(functions["dropout_forward"], functions["dropout_backward"],
                                      functions["layer_dropout_params"])
    return capsys.readouterr().out


def test_summary_says_that_all_pass(capsys):
    out = summary(answer_functions(), capsys)
    total = len(dropout_checks.CHECKS)
    assert out.startswith(f"All {total} self-checks pass.")
    assert out.count("✓") == total and "✗" not in out


def test_summary_lists_the_failing_checks_with_their_first_line(capsys):
    functions = answer_functions(patched_answers(MUTANTS["seed plus layer index"], answer_source))
    out = summary(functions, capsys)
    total = len(dropout_checks.CHECKS)
    assert out.startswith(f"{total - 1} of {total} self-checks pass")
    assert out.count("✗") == 1
    assert "✗ different network seeds give unrelated layer seeds\n      network seeds 123 and 124 both give" in out


def test_summary_is_the_last_cell():
    nb = nbformat.read(SOLUTION, as_version=4)
    assert nb.cells[-1].source == "self_check_summary(dropout_forward, dropout_backward, layer_dropout_params)"


# ---------------------------------------------------------------- the same checks, in Korean

HANGUL = re.compile("[\uac00-\ud7a3]")
# Runs of three or more English words in the English templates' own text: what must not show in Korean.
ENGLISH_RUNS = {run for template in dropout_checks.MESSAGES.values()
                for literal, *_ in string.Formatter().parse(template)
                for run in re.findall(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}\b", literal)}


def fields(template):
    return sorted((name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template)
                  if name is not None)


def test_korean_table_has_every_message_with_the_same_fields():
    korean = dropout_checks.TRANSLATIONS["ko"]
    assert list(korean) == list(dropout_checks.MESSAGES)
    differing = [i for i, template in dropout_checks.MESSAGES.items() if fields(template) != fields(korean[i])]
    assert not differing, f"Korean messages whose fields differ from the English ones: {differing}"


def test_only_known_languages_can_be_chosen():
    with pytest.raises(ValueError, match="'en' or 'ko'"):
        dropout_checks.use_language("fr")


@pytest.fixture
def korean():
    dropout_checks.use_language("ko")
    yield
    dropout_checks.use_language("en")


KOREAN_SETUP = answer_source("setup", EXERCISE.parent / "ko" / "dropout.ipynb")  # it chooses Korean


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_every_mutant_is_told_in_korean(name, korean):
    """With the Korean notebook's set-up cell, the same checks fail, and each says why in Korean, with no English
    sentence left."""
    korean_failures = failed_tests(answers={**patched_answers(MUTANTS[name], answer_source), "setup": KOREAN_SETUP})
    english_failures = failed_tests(answers=patched_answers(MUTANTS[name], answer_source))
    assert korean_failures.keys() == english_failures.keys()
    for grade_id, message in korean_failures.items():
        assert HANGUL.search(message), f"{grade_id}: {message}"
        left = [run for run in ENGLISH_RUNS if run in message]
        assert not left, f"{grade_id}: English left in the Korean message {message!r}: {left}"


def test_summary_in_korean(capsys, korean):
    out = summary(answer_functions(), capsys)
    assert HANGUL.search(out.splitlines()[0]) and out.count("✓") == len(dropout_checks.CHECKS)


def test_a_shape_given_as_a_list_is_a_shape():
    """A student trying a check with other settings may write a shape as a list: it works as the tuple does."""
    functions = answer_functions()
    for shape in ([3, 4], (3, 4)):
        dropout_checks.check_backward_numeric_gradient(functions["dropout_forward"], functions["dropout_backward"],
                                                       shape=shape)
