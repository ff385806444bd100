"""The built book has every chapter, numbered equations, referenced figures, true glued
numbers, its bibliography, the student's downloads, and nothing of the solution."""

import re
from html import unescape

import pytest

from conftest import ROOT
from mutants import BACKWARD, CS231N_BACKWARD, CS231N_FORWARD_2016, FORWARD
from notebook_cells import failed_tests, nbgrader_meta, secret_fragments

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


def regularisation_table(html):
    """keep probability -> [training accuracy, validation accuracy, validation NLL, validation ECE]."""
    rows = {}
    for keep in ("1.0 (no dropout)", "0.8", "0.5"):
        cells = re.search(rf"<td><p>{re.escape(keep)}</p></td>(.*?)</tr>", html, re.S).group(1)
        rows[keep] = [float(v) for v in re.findall(r'pasted-text">([^<]+)<', cells)]
    return rows


def test_regularisation_table_supports_its_discussion(built_book):
    rows = regularisation_table(page(built_book, "regularisation"))
    for train_acc, *_ in rows.values():
        assert train_acc == 100.0, "the text says every network memorises the training set"
    no_dropout = rows["1.0 (no dropout)"]
    for keep in ("0.8", "0.5"):
        assert 0 < rows[keep][1] - no_dropout[1] < 1.0, "the text says dropout adds a fraction of a point"
        assert rows[keep][2] < no_dropout[2], "the text says dropout lowers the validation loss"


def test_calibration_is_measured_not_asserted(built_book):
    """What the chapter says about calibration is the expected calibration error it measures."""
    html = page(built_book, "regularisation")
    text = unescape(re.sub(r"<[^>]+>", "", html))
    assert "better calibrated" not in text, "a claim about calibration that the chapter does not measure"
    ece = [row[3] for row in regularisation_table(html).values()]
    assert len(ece) == 3, "the table has no validation ECE for every keep probability"
    spread = glued(html, "the expected calibration error of the three settings lies within")
    assert spread == pytest.approx(max(ece) - min(ece), abs=0.1 + 1e-9)  # both rounded to 0.1 points
    assert spread < 0.5, "the text says calibration hardly changes"
    assert max(ece) < 5, "the text says all three ECEs (in percent) are small"


def test_references_are_listed_and_cited(built_book):
    refs = page(built_book, "references")
    titles = ["Dropout: A Simple Way to Prevent Neural Networks from Overfitting",
              "Improving neural networks by preventing co-adaptation",
              "Dropout Training as Adaptive Regularization",
              "Representing Model Uncertainty in Deep Learning",
              "Neural Networks Part 2",
              "On Calibration of Modern Neural Networks"]
    for title in titles:
        assert title.lower() in unescape(refs).lower(), f"missing reference: {title}"
    cited = "".join(page(built_book, name) for name in CHAPTERS if name != "references")
    assert len(set(re.findall(r'href="references\.html#(id\d+)"', cited))) == len(titles)


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


def page_text(book, name):
    """A page's text as a reader sees it, on one line."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page(book, name))).split())


def test_intro_says_which_convention_scales_at_test_time(built_book):
    """The original paper scales the weights at test time; only the others do nothing then."""
    text = page_text(built_book, "intro")
    assert "All of these scale the kept units during training" not in text
    assert re.search(r"Srivastava et al\. pass the kept units through unchanged in training and multiply the "
                     r"outgoing weights by \S+ at test time", text), text
    assert "All the others scale the kept units" in text


def test_cs231n_versions_are_told_apart(built_book):
    """CS231n's p is the keep probability from 2018 on; 2016-17 code fails exactly the checks named."""
    conventions = page_text(built_book, "intro")
    assert "CS231n notes, and assignment 2 since 2018 p keep p" in conventions
    assert "CS231n assignment 2 in 2016 and 2017 p drop 1 - p" in conventions
    exercise = page_text(built_book, "exercise")
    assert "from the assignment of 2018 or later, where p is the keep probability" in exercise
    named = re.search(r"Code from the 2016 and 2017 assignment.*?fails the three checks of the mask: (.*?)\.",
                      exercise).group(1)
    assert "mask = (np.random.rand(*x.shape) >= p) / (1 - p)" in exercise
    failures = failed_tests(answers={FORWARD: CS231N_FORWARD_2016, BACKWARD: CS231N_BACKWARD})
    assert set(failures) == {*re.findall(r"test_\w+", named), "test_forward_rejects_bad_input"}, failures


def test_weight_scaling_is_exact_for_any_linear_stack(built_book):
    html = page(built_book, "why-divide-by-p")
    text = page_text(built_book, "why-divide-by-p")
    assert "exact only for a single linear layer" not in text
    assert "any stack of linear layers with dropout between them" in text
    assert glued(html, "the stack\u2019s output is") == pytest.approx(glued(html, "test-time stack computes"), abs=0.05)
    assert glued(html, "the unit\u2019s output is") > glued(html, "network computes") + 0.1


def test_exercise_page_gives_the_install_line(built_book):
    """One line installs what the notebook needs, and any Jupyter front end runs it."""
    html = page(built_book, "exercise")
    blocks = [unescape(re.sub(r"<[^>]+>", "", b)).strip() for b in re.findall(r"<pre>(.*?)</pre>", html, re.S)]
    assert "pip install numpy notebook" in blocks, blocks
    assert "Any Jupyter front end works" in page_text(built_book, "exercise")
