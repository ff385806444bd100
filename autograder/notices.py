"""The grader's own words in a student's feedback page, in the notebook's language.

What grading writes into a notebook's outputs, as it happens and in English (an output cut,
a cell stopped at its timeout, a function of the student's that never returned), a page in
another language shows in that language: each of NOTICES is looked for in the outputs'
text, and replaced by its translation in the exercise's catalogue (context NOTICE), its
figures and names kept. The graded notebook keeps the English words, by which grading tells
what happened (autograder.grading.observations).
"""

import functools
import re

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograder import outputs, sandbox, trusted
from autograder.translation import NOTICE, catalogue_path, language_of, read_catalogue

NOTICES = [
    outputs.CUT_MARK, outputs.TOTAL_MARK, outputs.TOO_LARGE_MARK, trusted.IGNORED,
    sandbox.STOPPED, sandbox.MALFORMED, sandbox.UNANSWERED, sandbox.TOO_MUCH,
    sandbox.NEVER_RETURNED, sandbox.HUNG_IN_CHECK, sandbox.HUNG_IN_CELL,
    "No reply from kernel before timeout",  # nbgrader's Execute.error_on_timeout, a cell interrupted at its timeout
    "... Output truncated ...", "... Traceback truncated ...",  # nbgrader's LimitOutput
]
FIELDS = {"limit": r"\d+(?:\.\d+)? [KM]iB", "seconds": r"\d+(?:\.\d+)?", "mib": r"\d+", "name": r"[A-Za-z_]\w*"}


def _parts(notice):
    """The notice's words and the names of its fields in between, in turn: words first (perhaps '')."""
    return re.split(r"\{(\w+)\}", notice)


@functools.lru_cache(maxsize=len(NOTICES))
def pattern(notice):
    """A regular expression that finds notice, its fields filled in, in a text: not within a longer word, so that
    a field it starts with is tried at the start of words alone (at every letter of a long word, its search
    would take time quadratic in the word's length)."""
    parts = _parts(notice)
    found = "".join(f"(?P<{part}>{FIELDS[part]})" if i % 2 else re.escape(part) for i, part in enumerate(parts))
    return re.compile((r"(?<!\w)" if not parts[0] else "") + found + (r"(?!\w)" if notice[-1].isalnum() else ""))


@functools.lru_cache(maxsize=len(NOTICES))
def _words(notice):
    """The notice's text between its fields."""
    return [part for part in _parts(notice)[::2] if part]


def translate(text, translations):
    """text with each notice found in it in its translation (notice -> translated notice).

    A notice is looked for with its regular expression only in a text that holds all its
    words between fields: of the outputs, most hold none.
    """
    for notice in NOTICES:
        if notice in translations and all(part in text for part in _words(notice)):
            text = pattern(notice).sub(lambda found: translations[notice].format(**found.groupdict()), text)
    return text


class TranslateNotices(NbGraderPreprocessor):
    """nbgrader's feedback step: in a notebook in another language, the grader's notices among the outputs in it."""

    locale_dir = Unicode("", help="The folder of the exercise's catalogues (<language>/LC_MESSAGES/exercise/).").tag(
        config=True)

    def preprocess(self, nb, resources):
        language = language_of(nb)
        if language == "en":
            return nb, resources
        translations = read_catalogue(catalogue_path(self.locale_dir, language), context=NOTICE)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if "text" in output:
                    output.text = translate(output.text, translations)
                if isinstance(output.get("data", {}).get("text/plain"), str):
                    output.data["text/plain"] = translate(output.data["text/plain"], translations)
                if output.get("output_type") == "error":
                    output.evalue = translate(str(output.evalue), translations)
                    output.traceback = [translate(line, translations) for line in output.traceback]
        return nb, resources
