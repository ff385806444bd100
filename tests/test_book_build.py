"""The book builds strictly, from nothing, and needs no network to be read."""

import re

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
