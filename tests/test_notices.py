"""The grader's notices among a notebook's outputs read in the notebook's language on its feedback page."""

import copy
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograder.notices import NOTICES, TranslateNotices, pattern, translate
from autograder.translation import NOTICE, catalogue_path, read_catalogue
from conftest import ROOT

LOCALES = ROOT / "locales"
KOREAN = read_catalogue(catalogue_path(LOCALES, "ko"), context=NOTICE)
FIGURES = {"limit": "1 MiB", "seconds": "3", "mib": "256", "name": "dropout_forward"}


def filled(notice):
    return notice.format(**FIGURES)


@pytest.mark.parametrize("notice", NOTICES)
def test_each_notice_reads_in_korean_with_its_figures(notice):
    assert notice in KOREAN, "the Korean catalogue lacks it: run `make translations`"
    korean = translate(filled(notice), KOREAN)
    assert korean == KOREAN[notice].format(**FIGURES)
    assert not pattern(notice).search(korean)
    assert all(figure in korean for name, figure in FIGURES.items() if "{%s}" % name in notice)


def test_a_notice_within_a_checks_message_is_translated_in_place():
    message = ("dropout_forward에서 TimeoutError 예외가 발생했습니다.\n작성한 코드의 오류: TimeoutError: "
               "dropout_forward never returned: stopped after 3 s")
    assert translate(message, KOREAN) == (
        "dropout_forward에서 TimeoutError 예외가 발생했습니다.\n작성한 코드의 오류: TimeoutError: "
        + KOREAN["{name} never returned: stopped after {seconds} s"].format(name="dropout_forward", seconds="3"))


def test_the_students_own_words_stay_as_they_are():
    own = "never returned: stopped after a while; the rest was not kept\nx never returned: stopped after 3 seconds"
    assert translate(own, KOREAN) == own


def notebook(language):
    stopped = filled(NOTICES[3])
    nb = new_notebook(cells=[new_code_cell("print('x' * 10**7)", outputs=[
        new_output("stream", name="stdout", text="x" * 100 + "\n... Output truncated ..."),
        new_output("display_data", data={"text/plain": filled(NOTICES[0])}),
        new_output("error", ename="CellTimeoutError", evalue=stopped, traceback=[f"CellTimeoutError: {stopped}"])])])
    nb.metadata["lang"] = language
    return nb


def test_a_korean_notebooks_outputs_get_the_korean_notices_and_an_english_one_keeps_its_own():
    step = TranslateNotices(locale_dir=str(LOCALES))
    english = notebook("en")
    assert step.preprocess(copy.deepcopy(english), {})[0] == english
    korean = step.preprocess(notebook("ko"), {})[0]
    text = nbformat.writes(korean)
    assert not [notice for notice in NOTICES if pattern(notice).search(text)]
    assert KOREAN[NOTICES[3]].format(seconds="3") in korean.cells[0].outputs[2].evalue
    assert korean.cells[0].outputs[2].traceback == [f"CellTimeoutError: {KOREAN[NOTICES[3]].format(seconds='3')}"]
    assert korean.cells[0].outputs[0].text.startswith("x" * 100 + "\n")


def test_a_page_of_the_most_output_kept_is_translated_well_within_the_time_reserved_for_it():
    """All cells together keep 2 MiB; the feedback page's share of the submission timeout is 2 s per MiB of it.

    Words of every notice, and long words before them: each notice is looked for in the whole
    text, and a field tried at every letter of a word takes time quadratic in its length.
    """
    text = (("x" * 999 + " never returned: stopped after ") * 2_000)[:2 * 2**20] + " ".join(NOTICES)
    start = time.process_time()
    translate(text, KOREAN)
    assert time.process_time() - start < 1.0
