"""The built book has every chapter, numbered equations, referenced figures, true glued
numbers, its bibliography, the student's downloads, and nothing of the solution."""

import re
from html import unescape

import pytest

from conftest import ROOT
from notebook_cells import nbgrader_meta, secret_fragments

CHAPTERS = {
    "intro": "Dropout, from the inside out",
    "why-divide-by-p": "Why divide by p",
    "forward-and-backward": "Forward and backward",
    "seed-pitfall": "The seed pitfall",
    "regularisation": "Dropout as a regulariser",
    "exercise": "The exercise",
    "references": "References",
}
EQUATIONS = {
    "why-divide-by-p": ["eq-plain-mean", "eq-inverted-mean", "eq-inverted-variance"],
    "forward-and-backward": ["eq-forward", "eq-backward"],
}
FIGURES = {
    "why-divide-by-p": ["fig-moments"],
    "forward-and-backward": ["fig-graph", "fig-uniform-normal"],
    "seed-pitfall": ["fig-seed-masks"],
    "regularisation": ["fig-regularisation"],
}


def page(book, name):
    return (book / "book" / f"{name}.html").read_text()


def glued(html, before):
    """The number glued right after a piece of text (line breaks in it may differ)."""
    anchor = r"\s+".join(re.escape(word) for word in before.split())
    found = re.search(anchor + r'\s*<span class="pasted-text">([^<]+)</span>', html)
    assert found, f"no glued value after {before!r}"
    return float(found.group(1).replace(",", ""))


@pytest.mark.parametrize("name, title", CHAPTERS.items())
def test_every_chapter_is_built(built_book, name, title):
    assert f"<h1>{title}" in page(built_book, name)


@pytest.mark.parametrize("name, labels", EQUATIONS.items())
def test_equations_are_numbered_and_referenced(built_book, name, labels):
    html = page(built_book, name)
    for label in labels:
        assert f'id="equation-{label}"' in html, f"equation {label} is not numbered"
        assert f'href="#equation-{label}"' in html, f"equation {label} is never referenced"


@pytest.mark.parametrize("name, labels", FIGURES.items())
def test_figures_have_caption_alt_text_and_a_reference(built_book, name, labels):
    html = page(built_book, name)
    figures = re.findall(r"<figure[^>]*id=\"([^\"]+)\".*?</figure>", html, re.S)
    assert sorted(figures) == sorted(labels)
    for label in labels:
        figure = re.search(rf'<figure[^>]*id="{label}".*?</figure>', html, re.S).group(0)
        alt = re.search(r'<img[^>]*alt="([^"]*)"', figure).group(1)
        assert len(alt) > 40, f"{label} needs a real alt text, got {alt!r}"
        assert "<figcaption>" in figure and "Fig. " in figure
        assert f'href="#{label}"' in html, f"the text never refers to {label}"


def test_numbers_in_the_text_match_the_claims(built_book):
    moments = page(built_book, "why-divide-by-p")
    assert glued(moments, "never further than") < 0.01
    assert glued(moments, "is within") < 2.0  # percent
    assert abs(glued(moments, "the standard deviation is") - 1.0) < 0.01
    assert glued(moments, "the unit\u2019s output is") > glued(moments, "network computes")

    graph = page(built_book, "forward-and-backward")
    assert abs(glued(graph, "uniform draws keep") - 0.5) < 0.01
    assert glued(graph, "normal draws") > 0.65
    assert abs(glued(graph, "A float64 mask costs") / glued(graph, "again, costs") - 8) < 1e-9

    seeds = page(built_book, "seed-pitfall")
    assert "mask is <span class=\"pasted-text\">identical</span>" in seeds
    assert glued(seeds, "agree on") == 1.0
    assert abs(glued(seeds, "with spawned seeds on") - 0.52) < 0.01
    assert abs(glued(seeds, "steps with the seed fixed,") - 40) < 1
    assert glued(seeds, "to a relative error of") < 1e-8 < 1e-2 < glued(seeds, "the relative error is")
    assert glued(seeds, "Those two layers agree on") == 1.0


def test_regularisation_table_supports_its_discussion(built_book):
    html = page(built_book, "regularisation")
    rows = {}
    for keep in ("1.0 (no dropout)", "0.8", "0.5"):
        cells = re.search(rf"<td><p>{re.escape(keep)}</p></td>(.*?)</tr>", html, re.S).group(1)
        rows[keep] = [float(v) for v in re.findall(r'pasted-text">([^<]+)<', cells)]
    for train_acc, _, _ in rows.values():
        assert train_acc == 100.0, "the text says every network memorises the training set"
    no_dropout = rows["1.0 (no dropout)"]
    for keep in ("0.8", "0.5"):
        assert 0 < rows[keep][1] - no_dropout[1] < 1.0, "the text says dropout adds a fraction of a point"
        assert rows[keep][2] < no_dropout[2], "the text says dropout lowers the validation loss"


def test_references_are_listed_and_cited(built_book):
    refs = page(built_book, "references")
    for title in ["Dropout: A Simple Way to Prevent Neural Networks from Overfitting",
                  "Improving neural networks by preventing co-adaptation",
                  "Dropout Training as Adaptive Regularization",
                  "Representing Model Uncertainty in Deep Learning",
                  "Neural Networks Part 2"]:
        assert title.lower() in unescape(refs).lower(), f"missing reference: {title}"
    cited = "".join(page(built_book, name) for name in CHAPTERS if name != "references")
    assert len(set(re.findall(r'href="references\.html#(id\d+)"', cited))) == 5


def test_exercise_page_serves_the_student_files(built_book):
    html = page(built_book, "exercise")
    for name in ("dropout.ipynb", "dropout_checks.py"):
        (link,) = set(re.findall(rf'href="(\.\./_downloads/[0-9a-f]+/{re.escape(name)})"', html))
        served = (built_book / "book" / link).resolve().read_bytes()
        assert served == (ROOT / "exercises" / "dropout" / name).read_bytes()


def test_exercise_page_lists_every_graded_cell(built_book):
    import nbformat

    tables = re.findall(r"<table.*?</table>", page(built_book, "exercise"), re.S)
    assert tables, "the exercise page has no table of checks"
    html = tables[-1]
    nb = nbformat.read(ROOT / "exercises" / "dropout" / "dropout.ipynb", as_version=4)
    graded = [nbgrader_meta(c) for c in nb.cells if nbgrader_meta(c).get("grade")]
    for meta in graded:
        assert f"<code class=\"docutils literal notranslate\"><span class=\"pre\">{meta['grade_id']}</span>" in html
    assert f"<strong>{sum(m['points'] for m in graded)}</strong>" in html


def test_nothing_built_contains_solution_code_or_hidden_tests(built_book):
    secrets = secret_fragments()
    text_files = [p for p in built_book.rglob("*") if p.is_file() and p.suffix in
                  {".html", ".txt", ".md", ".ipynb", ".py", ".js", ".json"}]
    assert any("_sources" in p.parts for p in text_files) and any("_downloads" in p.parts for p in text_files)
    for path in text_files:
        text = path.read_text(errors="replace")
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{path.relative_to(built_book)} contains solution or hidden-test lines: {leaked[:3]}"
