"""The Korean exercise notebook: the English one translated by its catalogue, the same code,
and Korean wherever a student reads, in the notebook and on its feedback page."""

import ast
import re
import shutil
from pathlib import Path

import nbformat
import nbgrader
import pytest
from babel.messages.pofile import read_po
from nbclient import NotebookClient

from mutants import MUTANTS, patched_answers
from notebook_cells import EXERCISE, ROOT, answer_source, nbgrader_meta
from autograder import translation
from autograder.feedback import LABELS, TEMPLATE_TEXT, WORDS, labelled

KOREAN = ROOT / "exercises" / "dropout" / "ko" / "dropout.ipynb"
CATALOGUE = translation.catalogue_path(ROOT / "locales", "ko")
HANGUL = re.compile("[\uac00-\ud7a3]")
ENGLISH_PHRASE = re.compile(r"\b[A-Za-z]{3,}(?: [A-Za-z]{2,}){3,}\b")  # four English words in a row
UPDATE = ("run `make translations` and translate the new (empty) and changed (fuzzy) messages of "
          "locales/ko/LC_MESSAGES/exercise/dropout.po, then `make exercises`")


def notebooks():
    return nbformat.read(EXERCISE, as_version=4), nbformat.read(KOREAN, as_version=4)


def test_the_catalogue_holds_exactly_the_messages_of_today():
    """Extracted again from the English notebook now (with the feedback page's labels and the grader's notices), as
    `make translations` does."""
    english = {(m.context, m.id) for m in translation.exercise_template(notebooks()[0]) if m.id}
    with CATALOGUE.open("rb") as file:
        catalogued = {(m.context, m.id) for m in read_po(file) if m.id}
    assert english == catalogued, (f"{UPDATE}: new or changed in English {sorted(english - catalogued)}; "
                                   f"no longer in English {sorted(catalogued - english)}")


def test_the_korean_notebook_is_generated_from_the_english_one():
    english, korean = notebooks()
    expected, missing = translation.translate(english, translation.read_catalogue(CATALOGUE), "ko")
    assert not missing, f"messages without a translation: {missing}"
    assert nbformat.writes(korean) == nbformat.writes(expected), f"exercises/dropout/ko is out of date: {UPDATE}"
    assert translation.language_of(korean) == "ko" and translation.language_of(english) == "en"


def code_without_prose(source):
    """A code cell's syntax tree without its docstrings, and its language call's argument."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            body[0].value.value = "docstring"
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "use_language":
            node.args = []
    return ast.dump(tree)


def test_same_cells_grade_ids_points_and_code():
    english, korean = notebooks()
    assert len(english.cells) == len(korean.cells)
    for en, ko in zip(english.cells, korean.cells):
        assert (en.cell_type, en.metadata) == (ko.cell_type, ko.metadata)
        if en.cell_type == "code":
            assert code_without_prose(en.source) == code_without_prose(ko.source), nbgrader_meta(en)["grade_id"]
    setup = [c.source for c in korean.cells if nbgrader_meta(c).get("grade_id") == "setup"]
    assert setup and 'use_language("ko")' in setup[0], "the Korean set-up cell does not choose Korean messages"


def prose(message):
    """A message without its code, math and link targets."""
    return re.sub(r"`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|\]\([^)]*\)", " ", message, flags=re.S)


def test_a_korean_student_reads_korean():
    """Every message is Korean, but those that are only code or math, and no long English phrase is left."""
    english, korean = notebooks()
    for (message, where), (translated, _) in zip(translation.messages(english), translation.messages(korean)):
        if re.search(r"[A-Za-z]{3,}", prose(message)) and not HANGUL.search(prose(translated)):
            pytest.fail(f"{where}: not translated: {translated!r}")
        left = [phrase for phrase in ENGLISH_PHRASE.findall(prose(translated))
                if "YOUR" not in phrase and "Kernel" not in phrase]
        assert not left, f"{where}: English left in {translated!r}: {left}"


def run(nb, folder, checks=True):
    if checks:
        shutil.copy(ROOT / "exercises" / "dropout" / "dropout_checks.py", folder)
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def answered(answers):
    """The Korean notebook with the solution's code, some of it replaced by `answers`."""
    nb = nbformat.read(KOREAN, as_version=4)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and cell.cell_type == "code":
            cell.source = answers.get(grade_id, answer_source(grade_id))
    return nb


def test_the_korean_notebook_tells_a_mistake_in_korean(tmp_path):
    """A student's wrong answer, run as a student runs it: each failing self-check and the summary speak Korean."""
    nb = answered(patched_answers(MUTANTS["no division by p"], answer_source))
    outputs = run(nb, tmp_path)
    errors = [o.evalue for o in outputs if o.output_type == "error"]
    assert errors and all(HANGUL.search(e) for e in errors), errors
    summary = nb.cells[-1].outputs[0].text
    assert summary.startswith("자가 점검 20개 중") and "✗" in summary, summary


def test_without_the_checks_file_the_korean_notebook_says_what_to_download(tmp_path):
    errors = {(o.ename, o.evalue) for o in run(answered({}), tmp_path, checks=False) if o.output_type == "error"}
    ((name, message),) = errors
    assert name == "ModuleNotFoundError" and HANGUL.search(message) and "실습" in message
    assert "dropout_checks.py" in message and "dropout.ipynb" in message


def test_the_feedback_page_shows_each_of_its_words_through_the_catalogue():
    """Every label stands in nbgrader's template, none is left there in English, and each has its Korean."""
    template = (Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates" / "feedback"
                / "index.html.j2").read_text()
    assert all(word in template for word in LABELS), "nbgrader's feedback page has other words now: update LABELS"
    text = TEMPLATE_TEXT.split(labelled(template))[::2]
    left = sorted({word for part in text for word in WORDS.findall(part)})
    assert not left, f"English words of the feedback page not translated: {left}"
    strings = translation.read_catalogue(CATALOGUE, context=translation.FEEDBACK)
    assert sorted(strings) == sorted(LABELS) and all(HANGUL.search(strings[word]) for word in LABELS)
