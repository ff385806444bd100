"""The book builds strictly, from nothing, and needs no network to be read."""

import re

import pytest

from chapter_downloads import run_download
from conftest import ROOT


def test_strict_build_has_the_intro_page(built_book):
    intro = (built_book / "book" / "intro.html").read_text()
    assert "Learning goals" in intro and "keep probability" in intro
    assert (built_book / "index.html").exists()


def test_intro_code_was_executed(built_book):
    intro = (built_book / "book" / "intro.html").read_text()
    assert "cell_output" in intro, "the intro's code cell has no output: was it executed?"


def test_pages_load_nothing_from_other_hosts(built_book):
    """Scripts, styles and fonts are shipped with the book: an offline reader sees it all."""
    remote = re.compile(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]+"')
    offenders = {
        page.relative_to(built_book).as_posix(): remote.findall(page.read_text())
        for page in built_book.rglob("*.html")
    }
    offenders = {page: tags for page, tags in offenders.items() if tags}
    assert not offenders, f"pages that fetch from another host: {offenders}"


def test_mathjax_is_served_locally(built_book):
    intro = (built_book / "book" / "intro.html").read_text()
    assert 'src="../_static/mathjax/tex-chtml.js' in intro
    assert (built_book / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()


def test_only_toc_files_become_pages(built_book):
    built = {p.relative_to(built_book).parts[0] for p in built_book.rglob("*.html")}
    for private in ("solutions", "exercises", "autograder", "tests"):
        assert private not in built, f"{private}/ was built into the book although the TOC does not name it"
    assert (ROOT / "_toc.yml").exists()


# The pages whose code a reader can rerun (the exercise page reads the exercise's files instead).
CHAPTERS_WITH_CODE = ["intro", "why-divide-by-p", "forward-and-backward", "seed-pitfall", "regularisation"]
# What `pip install` calls the third-party modules a chapter may import.
PIP_NAMES = {"numpy": "numpy", "matplotlib": "matplotlib", "sklearn": "scikit-learn"}


def chapter_download(book, chapter):
    """The notebook that a chapter's download menu offers, as text."""
    html = (book / "book" / f"{chapter}.html").read_text()
    links = set(re.findall(r'href="([^"]+\.ipynb)"', html))
    assert links == {f"../_sources/book/{chapter}.ipynb"}, f"{chapter}: the download menu offers {links or 'no notebook'}"
    return (book / "book" / links.pop()).resolve().read_text()


@pytest.mark.parametrize("chapter", CHAPTERS_WITH_CODE)
def test_chapter_downloads_as_a_notebook_that_runs_in_plain_jupyter(built_book, chapter):
    """"Rerun any of it yourself": the chapter's notebook runs where MyST-NB and the book's
    helper modules are not installed, and makes the same figures as the page."""
    text = chapter_download(built_book, chapter)
    executed, figures = run_download(text)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    html = (built_book / "book" / f"{chapter}.html").read_text()
    assert len(figures) == html.count('<figure class="align-default"'), "the notebook draws other figures than the page"
    code = "\n".join(c.source for c in executed.cells if c.cell_type == "code")
    imported = set(re.findall(r"^(?:from|import) (\w+)", code, re.M))
    assert not imported & {"myst_nb", "digits_mlp"}, imported
    markup = [m for c in executed.cells if c.cell_type == "markdown"
              for m in re.findall(r"\{[\w:]+\}`[^`]*`|^\([\w-]+\)=$|^\$\$ \([\w-]+\)$", c.source, re.M)]
    assert not markup, f"MyST markup that Jupyter shows as it is: {markup}"
    (install,) = re.findall(r"^pip install (.+)$", executed.cells[0].source, re.M)
    needed = {PIP_NAMES[m] for m in imported if m in PIP_NAMES}
    assert needed <= set(install.split()), f"the notebook imports {needed} but says: pip install {install}"


def test_regularisation_page_says_what_its_notebook_needs(built_book):
    """The one chapter that needs more than NumPy and matplotlib says so, with the install line."""
    html = (built_book / "book" / "regularisation.html").read_text()
    pip_line = '<span class="pre">pip</span> <span class="pre">install</span> <span class="pre">scikit-learn</span>'
    assert pip_line in html
