"""The Korean edition: complete, current catalogues, the English build's numbers, Korean
figures, theme strings and search, and nothing of the solution."""

import json
import os
import re
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from conftest import ROOT
from notebook_cells import secret_fragments

sys.path.insert(0, str(ROOT / "book" / "_ext"))
sys.path.insert(0, str(ROOT / "book"))
from korean_search import SearchKorean  # noqa: E402

CATALOGUES = ROOT / "locales" / "ko" / "LC_MESSAGES"
CHAPTERS = ["intro", "why-divide-by-p", "forward-and-backward", "seed-pitfall", "regularisation", "exercise",
            "references"]
# What the theme and jupyter-book show in English unless their strings are translated
ENGLISH_THEME_STRINGS = ["Search this book", "Contents", "Back to top", "Skip to main content", "previous page",
                         "next page", "Download this page", "Print to PDF", "Fullscreen mode", "Color mode",
                         "Toggle primary sidebar", "Toggle secondary sidebar", "Show code cell", "Link to this heading",
                         "The dropout module authors", "Copyright", "Please activate JavaScript"]
UPDATE = ("run `make translations`, then translate the new (empty) and changed (fuzzy) messages in "
          "locales/ko/LC_MESSAGES/<catalogue>.po")


def catalogue(path):
    with path.open("rb") as file:
        return read_po(file)


def page(book, name):
    return (book / "book" / f"{name}.html").read_text()


@pytest.mark.parametrize("po", sorted(CATALOGUES.rglob("*.po")), ids=lambda p: p.relative_to(CATALOGUES).as_posix())
def test_every_message_is_translated_and_none_is_fuzzy(po):
    messages = [m for m in catalogue(po) if m.id]
    assert messages, f"{po} has no messages"
    untranslated = [m.id for m in messages if not m.string]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert not untranslated, (f"{len(untranslated)} untranslated messages in {po.relative_to(ROOT)} "
                              f"(follow locales/ko/glossary.md): {untranslated}")
    assert not fuzzy, (f"{len(fuzzy)} fuzzy messages (the English changed) in {po.relative_to(ROOT)}: {fuzzy}; "
                       "check each translation and remove its `#, fuzzy` line")


@pytest.fixture(scope="session")
def fresh_templates(built_book, tmp_path_factory):
    """The English messages extracted again from the sources now, as `make translations` does
    (reading the executed notebooks from the book build's cache)."""
    out = tmp_path_factory.mktemp("catalogues")
    config = out / "_config.yml"
    cache = built_book.parent / ".jupyter_cache"
    config.write_text(subprocess.run([sys.executable, "book/_ext/edition_config.py", "en", str(cache)], cwd=ROOT,
                                     capture_output=True, text=True, check=True).stdout)
    result = subprocess.run([Path(sys.executable).parent / "jupyter-book", "build", ".", "--config", str(config),
                             "--path-output", str(out), "--builder", "custom", "--custom-builder", "gettext"],
                            cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Executing notebook" not in result.stdout, "the extraction did not reuse the book build's executed notebooks"
    return out / "_build" / "gettext"


def test_catalogues_hold_exactly_the_english_messages_of_today(fresh_templates):
    templates = {p.relative_to(fresh_templates).with_suffix("").as_posix(): p for p in fresh_templates.rglob("*.pot")}
    chapters = {p.relative_to(CATALOGUES).with_suffix("").as_posix(): p for p in (CATALOGUES / "book").rglob("*.po")}
    assert set(templates) == set(chapters), f"catalogues missing or left over: {set(templates) ^ set(chapters)}: {UPDATE}"
    stale = {}
    for domain, pot in templates.items():
        english = {m.id for m in catalogue(pot) if m.id}
        translated = {m.id for m in catalogue(chapters[domain]) if m.id}
        if english != translated:
            stale[domain] = {"new or changed in English": sorted(english - translated),
                             "no longer in English": sorted(translated - english)}
    assert not stale, f"the catalogues are older than the English sources: {UPDATE}: {stale}"


def numbers(html):
    """The numeric glued values of a page, as a multiset (word order differs between languages)."""
    values = Counter()
    for text in re.findall(r'<span class="pasted-text">([^<]+)</span>', html):
        try:
            values[float(text.replace(",", ""))] += 1
        except ValueError:
            pass
    return values


@pytest.mark.parametrize("name", CHAPTERS)
def test_korean_pages_show_the_english_builds_numbers(built_book, name):
    english, korean = numbers(page(built_book, name)), numbers(page(built_book / "ko", name))
    assert korean == english, f"{name}: Korean {sorted(korean.elements())}, English {sorted(english.elements())}"


def test_glued_numbers_are_on_the_korean_pages(built_book):
    assert sum(sum(numbers(page(built_book / "ko", name)).values()) for name in CHAPTERS) >= 30


@pytest.mark.parametrize("path", [f"book/{name}.html" for name in CHAPTERS] + ["search.html", "genindex.html"])
def test_korean_pages_are_korean_with_the_theme_in_korean(built_book, path):
    html = (built_book / "ko" / path).read_text()
    assert '<html lang="ko"' in html
    titles = re.findall(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert re.search("[\uac00-\ud7a3]", " ".join(titles)), f"the title of {path} is not in Korean: {titles!r}"
    visible = re.sub(r"<script.*?</script>|<style.*?</style>", "", html, flags=re.S)
    left = [s for s in ENGLISH_THEME_STRINGS if s in visible]
    assert not left, f"English theme strings on the Korean page {path}: {left}"
    assert 'placeholder="이 책에서 검색..."' in html


@pytest.mark.parametrize("name", ["why-divide-by-p", "forward-and-backward", "seed-pitfall", "regularisation"])
def test_korean_figures_are_their_own_images(built_book, name):
    """The figures are drawn again for the Korean edition (their text is Korean), not copied."""
    figures = lambda html: re.findall(r'<figure[^>]*>.*?<img[^>]*src="([^"]+)"', html, re.S)
    english, korean = figures(page(built_book, name)), figures(page(built_book / "ko", name))
    assert len(korean) == len(english) > 0
    for en, ko in zip(english, korean):
        assert Path(en).name != Path(ko).name, f"{name}: the Korean page shows the English figure {en}"


def test_figure_labels_are_translated_and_drawn_with_every_glyph(caplog):
    """Korean labels (plain and with math) drawn with the edition's font: no missing glyph,
    neither matplotlib's warning (plain text) nor mathtext's log message (text around math)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import figure_text

    table = figure_text.catalogue("ko")
    labels = [table[m] for m in ("keep probability $p$", "fraction of units kept", "layer {number}", "no dropout")]
    assert all(re.search("[\uac00-\ud7a3]", label) for label in labels), labels

    def missing_glyphs(setup):
        caplog.clear()
        with matplotlib.rc_context(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            setup()
            fig, ax = plt.subplots()
            ax.set(title=labels[1], xlabel=labels[0], ylabel=labels[2], xlim=(-1, 1))  # negative ticks: minus sign
            ax.plot([0], [0], label=labels[3])
            ax.legend()
            fig.canvas.draw()
            plt.close(fig)
        return ([str(w.message) for w in caught if "missing from font" in str(w.message)]
                + [r.getMessage() for r in caplog.records if "does not have a glyph" in r.getMessage()])

    assert missing_glyphs(lambda: None), "DejaVu Sans draws Hangul: this check could not fail"
    assert missing_glyphs(lambda: figure_text.use_font(figure_text.FONTS["ko"])) == []


@pytest.mark.parametrize("word, stem", [("드롭아웃은", "드롭아웃"), ("드롭아웃을", "드롭아웃"), ("시드를", "시드"),
                                        ("시드", "시드"), ("마스크가", "마스크"), ("역전파에서는", "역전파"),
                                        ("seeds", "seed"), ("Dropout", "dropout")])
def test_korean_search_strips_particles(word, stem):
    assert SearchKorean({}).stem(word) == stem


def test_korean_search_index_has_the_bare_words(built_book):
    index = (built_book / "ko" / "searchindex.js").read_text()
    terms = json.loads(re.fullmatch(r"Search\.setIndex\((.*)\)", index.strip(), re.S).group(1))["terms"]
    for word in ("드롭아웃", "시드", "마스크", "유지"):
        assert word in terms, f"{word} is not in the Korean search index"
    assert not {"드롭아웃은", "드롭아웃을", "시드를", "마스크를"} & set(terms), "particles are still attached"


def test_nothing_of_the_solution_in_the_korean_edition_or_its_catalogues(built_book):
    secrets = secret_fragments()
    files = [p for p in (built_book / "ko").rglob("*") if p.is_file() and p.suffix in
             {".html", ".txt", ".md", ".ipynb", ".py", ".js", ".json"}] + sorted(CATALOGUES.rglob("*.po"))
    assert any("_sources" in p.parts for p in files) and any("_downloads" in p.parts for p in files)
    for path in files:
        leaked = [s for s in secrets if s in path.read_text(errors="replace")]
        assert not leaked, f"{path} contains solution or hidden-test lines: {leaked[:3]}"


def glossary():
    """(English, Korean) of the glossary rows that name one term in each language."""
    rows = [line.split("|")[1:3] for line in (ROOT / "locales" / "ko" / "glossary.md").read_text().splitlines()
            if line.startswith("| ") and not line.startswith("| English") and "---" not in line]
    return [(en.strip(), ko.strip()) for en, ko in rows if not re.search(r"[/,(]", en + ko)]


def prose(message):
    """A message without its code, math, roles and file names."""
    return re.sub(r"\{[\w:-]+\}`[^`]*`|`[^`]*`|\$[^$]*\$|\b[\w-]+\.(?:ipynb|py)\b", " ", message)


def test_translations_use_the_glossary_terms():
    terms = glossary()
    assert len(terms) > 30
    off = []
    for po in sorted([*(CATALOGUES / "book").glob("*.po"), *(CATALOGUES / "exercise").glob("*.po")]):
        for message in catalogue(po):
            for english, korean in terms:
                if message.id and re.search(rf"\b{re.escape(english)}s?\b", prose(message.id), re.I) \
                        and korean not in message.string:
                    off.append(f"{po.name}: {english!r} -> {korean!r} not in {message.string!r}")
    assert not off, "\n".join(off)


def test_a_missing_glyph_fails_the_strict_build(tmp_path):
    """With the book's execution settings, a figure that draws Hangul in a font without it
    (matplotlib's "Glyph ... missing" warning, on the cell's stderr) fails `-W`."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    (tmp_path / "_config.yml").write_text(yaml.safe_dump({"title": "t", "execute": config["execute"]}))
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    (tmp_path / "index.md").write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
        "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n# T\n\n"
        "```{code-cell} ipython3\nimport matplotlib.pyplot as plt\nplt.title('유지 확률')\n```\n")
    result = subprocess.run([Path(sys.executable).parent / "jupyter-book", "build", str(tmp_path), "-W", "-n",
                             "--keep-going"], capture_output=True, text=True)
    assert result.returncode != 0 and "stderr was found in the cell outputs" in result.stdout + result.stderr, \
        result.stdout[-3000:]
    executed = (tmp_path / "_build" / "jupyter_execute" / "index.ipynb").read_text()
    assert "Glyph" in executed and "missing from font" in executed, "the cell's stderr is not the missing glyph"
