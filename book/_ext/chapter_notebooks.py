"""Offer every chapter as a Jupyter notebook that runs without the book's build tools.

The theme's download menu gets an ``.ipynb`` entry for each chapter (``_sources/<page>.ipynb``).
The notebook is the chapter's MyST source read by MyST-NB, changed so that it runs and reads
in any Jupyter with NumPy and matplotlib:

- ``from myst_nb import glue`` becomes a small ``glue`` that prints each value by its name
  (MyST-NB is only needed to paste the values into the book's pages), and the figures'
  ``translated`` (``book/figure_text.py``, the Korean edition's labels) returns its label;
- a helper module imported from beside the chapter (``from digits_mlp import ...``) is
  inlined as a code cell, since the download is a single file;
- MyST markup in the text, which Jupyter would show as it is, becomes plain Markdown: a glued
  value its name in code font, a citation its key, a cross-reference the title it points to,
  an equation's label a ``\\tag``;
- a first cell says what the notebook needs, from the packages its code imports.

Pages named in ``chapter_notebooks_skip`` (the exercise page, which reads the exercise's own
files) are not offered.
"""

import posixpath
import re
from pathlib import Path

import nbformat
from myst_nb.core.read import read_myst_markdown_notebook

# Imports of the book's build tools, and what stands in for them in a plain Jupyter.
STANDINS = {
    re.compile(r"^from myst_nb import glue$", re.M): '''
def glue(name, value, display=True):
    """In the book, MyST-NB pastes `value` into the text where this notebook says `name`."""
    print(f"{name} = {value}")
''',
    re.compile(r"^from figure_text import translated.*$", re.M): '''
def translated(label):
    """In the book's Korean edition, a figure's label in Korean; here, as written."""
    return label
''',
}
IMPORT = re.compile(r"^(?:from (\w+)[\w.]* import .+|import (\w+).*)$", re.M)
# Third-party packages a chapter may import, by module, with what `pip install` calls them.
PACKAGES = {"numpy": "numpy", "matplotlib": "matplotlib", "sklearn": "scikit-learn"}
ROLE = re.compile(r"\{([\w:]+)\}`([^`]*)`")
LABEL_LINE = re.compile(r"^\(([\w-]+)\)=\n", re.M)
LABELLED_MATH = re.compile(r"^\$\$\n(.*?)\n\$\$ \(([\w-]+)\)$", re.M | re.S)  # $$ ... $$ (label)


def _imported(code):
    return {a or b for a, b in IMPORT.findall(code)}


def _plain_markdown(text, title_of):
    """MyST roles as plain Markdown; title_of(role, target) names what a cross-reference points to."""

    def replace(match):
        role, target = match.groups()
        if role.startswith("glue"):
            return f"`{target.split(':')[0]}`"
        if role == "cite":
            return "[" + ", ".join(key.strip() for key in target.split(",")) + "]"
        if role == "eq":
            return f"({target})"  # as the equation's \tag shows it
        if role == "numref":
            return f"the figure `{target}`"
        return f"*{title_of(role, target)}*"

    text = LABELLED_MATH.sub(lambda m: f"$$\n{m[1]} \\tag{{{m[2]}}}\n$$", text)  # MathJax shows (label)
    return LABEL_LINE.sub("", ROLE.sub(replace, text))


def chapter_notebook(source: Path, title: str, title_of=lambda role, target: target) -> nbformat.NotebookNode:
    """The chapter at `source` (MyST Markdown) as a notebook that needs no MyST-NB."""
    nb = read_myst_markdown_notebook(source.read_text())
    nb.metadata.pop("jupytext", None)
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _plain_markdown(cell.source, title_of)
        if cell.cell_type == "code":
            for line, standin in STANDINS.items():
                cell.source = line.sub(standin, cell.source)
            for module in sorted(_imported(cell.source)):
                helper = source.parent / f"{module}.py"
                if helper.is_file():
                    cell.source = re.sub(rf"^(from {module} import .+|import {module})\n?", "", cell.source, flags=re.M)
                    cells.append(nbformat.v4.new_code_cell(f"# {helper.name}, which the book imports from beside "
                                                           f"this chapter\n{helper.read_text()}"))
            cell.source = re.sub(r"\n{3,}", "\n\n", cell.source).strip()
        cells.append(cell)
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    needs = [*sorted({PACKAGES[m] for m in _imported(code) if m in PACKAGES}, key=list(PACKAGES.values()).index),
             "notebook"]
    cells.insert(0, nbformat.v4.new_markdown_cell(
        f"*{title}*, a chapter of the book *Dropout, from the inside out*, as a notebook. It runs in any "
        f"Jupyter front end (JupyterLab, Notebook, VS Code) with a Python 3 kernel that has these packages:\n\n"
        f"```bash\npip install {' '.join(needs)}\n```\n\n"
        "Run the cells in order. Where the book's text shows a computed number, this notebook gives its "
        "name in code font (`name`), and the cells print it as `name = ...`."))
    nb.cells = cells
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index}"
    nbformat.validate(nb)
    return nb


def _title_of(env, pagename):
    def title_of(role, target):
        if role == "doc":
            docname = posixpath.normpath(posixpath.join(posixpath.dirname(pagename), target))
            return env.titles[docname].astext() if docname in env.titles else target
        label = env.domaindata["std"]["labels"].get(target.lower())
        return label[2] if label else target

    return title_of


def _offer_notebook(app, pagename, templatename, context, doctree):
    if doctree is None or "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    if pagename in app.config.chapter_notebooks_skip:
        return
    title = app.env.titles[pagename].astext()
    nb = chapter_notebook(Path(app.env.doc2path(pagename)), title, _title_of(app.env, pagename))
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    context["ipynb_source"] = f"{pagename}.ipynb"  # sphinx-book-theme's download menu lists it


def setup(app):
    app.add_config_value("chapter_notebooks_skip", [], "html")
    # Before sphinx-book-theme builds its header buttons (priority 501).
    app.connect("html-page-context", _offer_notebook, priority=500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
