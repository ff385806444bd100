"""The exercise notebook in another language, made from the English one with a gettext catalogue.

A message is prose a student reads: a paragraph of a Markdown cell, a docstring, or a run of
comment lines in a code cell. Code, names and formulas stay as they are, and so do nbgrader's
markers (YOUR CODE HERE, YOUR ANSWER HERE), by which nbgrader tells an unanswered cell. One
call changes: the set-up cell's ``use_language("en")`` names the notebook's language. The
notebook's metadata says its language (``lang``), and the grader grades it in that language.

``python -m autograder.translation template RELEASED.ipynb OUT.pot`` writes the messages of a
released notebook (the feedback page's labels and the grader's notices included) for
sphinx-intl; ``python -m autograder.translation translate RELEASED.ipynb CATALOGUE.po LANG
OUT.ipynb`` writes its translation, and fails naming any message the catalogue lacks.
"""

import argparse
import ast
import copy
import functools
import io
import os
import re
import sys
import tokenize
from pathlib import Path

import nbformat
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

MARKERS = {"YOUR CODE HERE", "YOUR ANSWER HERE"}  # nbgrader's (ClearSolutions.code_stub, text_stub)
LANGUAGE_CALL = re.compile(r'\buse_language\("en"\)')
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
FEEDBACK = "feedback page"  # the message context of the feedback page's labels (autograder.feedback)
NOTICE = "grader notice"  # and of what grading writes among a notebook's outputs (autograder.notices)


def language_of(nb):
    """The language a notebook is written in: its metadata's ``lang``, English without one."""
    return nb.metadata.get("lang", "en")


def _is_answer(cell):
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def _markdown_spans(source):
    """(start, end) of each paragraph of a Markdown text."""
    start = 0
    for gap in [*PARAGRAPH_BREAK.finditer(source), None]:
        end = gap.start() if gap else len(source)
        if source[start:end].strip():
            yield start, end
        start = gap.end() if gap else end


class _Code:
    """One code cell's source, with its messages' spans: docstrings and runs of comment lines."""

    def __init__(self, source):
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, line, column, in_bytes=False):
        text = self.lines[line - 1] if line <= len(self.lines) else ""
        if in_bytes:  # ast counts columns in UTF-8 bytes
            column = len(text.encode()[:column].decode())
        return self.starts[line - 1] + column

    def docstrings(self):
        """(start, end, message, rebuild) of each docstring; rebuild(text) gives its new raw text."""
        try:
            tree = ast.parse(self.source)
        except SyntaxError:
            return
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            first = node.body[0] if node.body else None
            if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                continue
            start = self.offset(first.value.lineno, first.value.col_offset, in_bytes=True)
            end = self.offset(first.value.end_lineno, first.value.end_col_offset, in_bytes=True)
            literal = self.source[start:end]
            quote = re.match(r"[rRuU]?('''|\"\"\"|'|\")", literal)
            inner_start, inner_end = start + quote.end(), end - len(quote.group(1))
            message, rebuild = _dedented(self.source[inner_start:inner_end])
            yield inner_start, inner_end, message, rebuild

    def comments(self):
        """(start, end, message, rebuild) of each run of whole-line comments, and of each trailing comment."""
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(self.source).readline))
        except (tokenize.TokenError, SyntaxError, IndentationError):
            return
        runs = []  # [first token, last token, texts]
        for token in tokens:
            if token.type != tokenize.COMMENT:
                continue
            text = token.string[1:].strip()
            whole_line = not token.line[:token.start[1]].strip()
            last = runs[-1] if runs else None
            if (whole_line and last and last[3] and last[1].start[0] == token.start[0] - 1
                    and last[1].start[1] == token.start[1] and text not in MARKERS and last[2][-1] not in MARKERS):
                last[1] = token
                last[2].append(text)
            else:
                runs.append([token, token, [text], whole_line])
        for first, last, texts, whole_line in runs:
            if len(texts) == 1 and texts[0] in MARKERS or not "".join(texts).strip():
                continue
            indent = " " * first.start[1]
            start = self.offset(*first.start)
            end = self.offset(*last.end)
            separator = f"\n{indent}# " if whole_line else " "
            yield start, end, "\n".join(texts), lambda text, s=separator: "# " + s.join(text.split("\n"))


def _dedented(raw):
    """A docstring's text as a message (continuation lines dedented), and the way back to raw text."""
    lines = raw.split("\n")
    trailing = ""
    if len(lines) > 1 and not lines[-1].strip():
        trailing = "\n" + lines.pop()
    rest = [line for line in lines[1:] if line.strip()]
    indent = min((len(line) - len(line.lstrip()) for line in rest), default=0)
    message = "\n".join([lines[0], *(line[indent:] for line in lines[1:])])

    def rebuild(text):
        first, *others = text.split("\n")
        return "\n".join([first, *((" " * indent + line) if line else "" for line in others)]) + trailing

    return message.strip("\n"), rebuild


def _spans(cell):
    """(start, end, message, rebuild) of every message of a cell, in order."""
    if cell.cell_type == "markdown":
        for start, end in _markdown_spans(cell.source):
            text = cell.source[start:end]
            if text.strip() not in MARKERS:
                yield start, end, text, lambda translated: translated
    elif cell.cell_type == "code":
        code = _Code(cell.source)
        yield from sorted([*code.docstrings(), *code.comments()], key=lambda span: span[0])


def messages(nb):
    """Each message of a notebook, in order, with where it is (the cell's grade_id or number)."""
    found = []
    for number, cell in enumerate(nb.cells):
        where = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {number}"
        found.extend((message, where) for _, _, message, _ in _spans(cell))
    return found


def translate_cell(cell, strings, language):
    """The cell's source with every message that `strings` translates; return the messages it lacks."""
    source, missing = cell.source, []
    for start, end, message, rebuild in reversed(list(_spans(cell))):
        if message in strings:
            source = source[:start] + rebuild(strings[message]) + source[end:]
        else:
            missing.append(message)
    if cell.cell_type == "code":
        source = LANGUAGE_CALL.sub(f'use_language("{language}")', source)
    cell.source = source
    return missing[::-1]


def translate(nb, strings, language, answers=True):
    """A copy of nb in `language` with the translations `strings` (message -> text); return (copy, missing).

    With answers=False the answer cells are left as they are (a student's, when grading).
    """
    nb = copy.deepcopy(nb)
    missing = []
    for cell in nb.cells:
        if answers or not _is_answer(cell):
            missing.extend(translate_cell(cell, strings, language))
    nb.metadata["lang"] = language
    return nb, missing


def read_catalogue(path, context=None):
    """message -> translation of a .po file, its fuzzy and untranslated messages left out (not to be changed).

    Read once per process and version of the file: a worker grades many notebooks with one.
    """
    return _read_catalogue(str(path), os.stat(path).st_mtime_ns, context)


@functools.lru_cache(maxsize=16)
def _read_catalogue(path, _version, context):
    with open(path, "rb") as file:
        catalogue = read_po(file)
    return {m.id: m.string for m in catalogue if m.id and m.string and not m.fuzzy and m.context == context}


def catalogue_path(locale_dir, language):
    return Path(locale_dir) / language / "LC_MESSAGES" / "exercise" / "dropout.po"


def template(nb, labels=(), notices=()):
    """A gettext template (babel Catalog) of a notebook's messages, the feedback page's labels and the grader's
    notices."""
    catalogue = Catalog(project="dropout-module", fuzzy=False)
    for message, where in messages(nb):
        catalogue.add(message, locations=[(where, 0)])
    for label in labels:
        catalogue.add(label, context=FEEDBACK, locations=[("feedback", 0)])
    for notice in notices:
        catalogue.add(notice, context=NOTICE, locations=[("grading", 0)])
    return catalogue


def exercise_template(nb):
    """The exercise's gettext template: the released notebook's messages, the feedback page's labels, the grader's
    notices."""
    from autograder.feedback import LABELS  # both modules import this one
    from autograder.notices import NOTICES
    return template(nb, LABELS, NOTICES)


class TranslateReadOnly(NbGraderPreprocessor):
    """nbgrader's autograde step, after OverwriteCells: a notebook in another language gets its read-only cells in it.

    OverwriteCells restores every read-only and test cell from the gradebook, in English; here
    they are translated back, so the notebook runs (its set-up cell's use_language) and its
    feedback reads in the student's language. The answers are the student's, untouched.
    """

    locale_dir = Unicode("", help="The folder of the exercise's catalogues (<language>/LC_MESSAGES/exercise/).").tag(
        config=True)

    def preprocess(self, nb, resources):
        language = language_of(nb)
        if language != "en":
            strings = read_catalogue(catalogue_path(self.locale_dir, language))
            nb, _ = translate(nb, strings, language, answers=False)  # hidden tests' comments: not in the catalogue
        return nb, resources


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.translation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    pot = commands.add_parser("template", help="write the messages of a released notebook as a .pot")
    pot.add_argument("notebook", type=Path)
    pot.add_argument("pot", type=Path)
    po = commands.add_parser("translate", help="write a released notebook's translation")
    po.add_argument("notebook", type=Path)
    po.add_argument("catalogue", type=Path)
    po.add_argument("language")
    po.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    nb = nbformat.read(args.notebook, as_version=4)
    if args.command == "template":
        args.pot.parent.mkdir(parents=True, exist_ok=True)
        with open(args.pot, "wb") as file:
            write_po(file, exercise_template(nb), width=0, omit_header=False)
        return 0
    translated, missing = translate(nb, read_catalogue(args.catalogue), args.language)
    if missing:
        print(f"error: {len(missing)} messages of {args.notebook} have no translation in {args.catalogue} "
              f"(run `make translations`, then translate them): {missing}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(translated, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
