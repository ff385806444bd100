"""The built book in a real browser: Debian's Chromium, driven headless by Playwright,
reading the book over HTTP on localhost, every page of both editions as a student would see it.

Screenshots of every page at desktop and phone width land in _build/browser-screenshots/.
"""

import functools
import http.server
import re
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import nbformat
import pytest
import yaml

from conftest import ROOT
from notebook_cells import secret_fragments

sys.path.insert(0, str(ROOT / "book" / "_ext"))
from editions import EDITIONS  # noqa: E402  language -> (name, folder): "" for English, "ko/" for Korean
FOLDERS = [folder for _, folder in EDITIONS.values()]

SCREENSHOTS = ROOT / "_build" / "browser-screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server(built_book):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=built_book))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def book_pages(book):
    skip = {"_static", "_sources", "_downloads", "_images"}
    return sorted(p.relative_to(book).as_posix() for p in book.rglob("*.html") if not skip & set(p.parts))


def toc_pages():
    """The pages of a book built from _toc.yml: its chapters plus Sphinx's own index and search pages."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"], *(chapter["file"] for chapter in toc.get("chapters", []))]
    return [f"{f}.html" for f in files] + ["genindex.html", "search.html"]


def pytest_generate_tests(metafunc):
    if "page_path" in metafunc.fixturenames:
        metafunc.parametrize("page_path", [folder + page for folder in FOLDERS for page in toc_pages()])


@pytest.fixture(scope="session")
def visit(browser, server):
    """Open a page once (after MathJax has finished) and report what a reader's browser saw."""

    @functools.cache
    def open_page(path):
        page = browser.new_page(viewport=VIEWPORTS["desktop"])
        errors = []
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        page.goto(server + path, wait_until="networkidle")
        page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
        report = page.evaluate("""() => ({
            text: document.body.innerText,
            images: [...document.images].map(i => ({src: i.src, width: i.naturalWidth, complete: i.complete})),
            figures: [...document.querySelectorAll('figure img')].map(i => ({src: i.src, alt: i.alt})),
            math: document.querySelectorAll('.math').length,
            typeset: document.querySelectorAll('mjx-container').length,
            links: [...document.querySelectorAll('a[href]')].map(a => a.href),
            switcher: [...document.querySelectorAll('a.language-switcher')].map(a => a.href),
        })""")
        report["errors"] = errors
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = path.removesuffix(".html").replace("/", "-")
        for label, size in VIEWPORTS.items():
            page.set_viewport_size(size)
            page.screenshot(path=SCREENSHOTS / f"{name}-{label}.png", full_page=True)
        page.close()
        return report

    return open_page


def test_every_built_page_is_checked(built_book):
    redirects = {folder + "index.html" for folder in FOLDERS}  # index.html only redirects to the root page
    assert set(book_pages(built_book)) - redirects == {folder + page for folder in FOLDERS for page in toc_pages()}


def test_no_console_errors(visit, page_path):
    assert visit(page_path)["errors"] == []


def test_images_load_and_figures_have_alt_text(visit, page_path):
    report = visit(page_path)
    broken = [i["src"] for i in report["images"] if not i["complete"] or i["width"] == 0]
    assert not broken, f"images that did not load: {broken}"
    assert all(f["alt"].strip() for f in report["figures"]), report["figures"]


def test_math_is_typeset(visit, page_path):
    report = visit(page_path)
    if report["math"]:
        assert report["typeset"] >= report["math"], f"{report['math']} equations, {report['typeset']} typeset"
    for raw in ("$$", "\\frac", "\\mathbb"):
        assert raw not in report["text"], f"raw TeX {raw!r} is visible on the page"


def _fetch(url):
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_internal_links_and_anchors_resolve(visit, server, page_path):
    origin = urlparse(server).netloc
    broken = []
    for link in sorted(set(visit(page_path)["links"])):
        if urlparse(link).netloc != origin:
            continue
        target, anchor = urldefrag(link)
        status, html = _fetch(target)
        if status != 200:
            broken.append(f"{link}: HTTP {status}")
        elif anchor and not re.search(rf'\bid="{re.escape(anchor)}"', html):
            broken.append(f"{link}: no element with id {anchor!r}")
    assert not broken, broken


@pytest.mark.parametrize("folder", FOLDERS)
def test_exercise_download_is_the_student_notebook(visit, server, folder):
    links = [l for l in visit(folder + "book/exercise.html")["links"] if l.endswith("/dropout.ipynb")]
    assert links, "the exercise page links no notebook"
    for link in set(links):
        status, text = _fetch(link)
        assert status == 200
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert code.count("raise NotImplementedError()") == 3, "the download is not the student version"
        leaked = [s for s in secret_fragments() if s in text]
        assert not leaked, f"the downloaded notebook contains solution or hidden-test lines: {leaked[:3]}"


@pytest.mark.parametrize("folder, word, chapter", [
    ("", "inverted", "why-divide-by-p"), ("", "seed", "seed-pitfall"),
    # Korean words carry particles (드롭아웃은, 시드를, 마스크가): the Korean search strips them
    ("ko/", "드롭아웃", "intro"), ("ko/", "시드", "seed-pitfall"), ("ko/", "마스크", "forward-and-backward"),
])
def test_search_finds(browser, server, folder, word, chapter):
    page = browser.new_page()
    page.goto(f"{server}{folder}search.html?q={word}")
    page.wait_for_selector("#search-results li", timeout=15_000)
    hits = page.eval_on_selector_all("#search-results li a", "links => links.map(a => a.href)")
    page.close()
    assert any(hit.startswith(f"{server}{folder}book/{chapter}.html") for hit in hits), \
        f"searching {word!r} found no {folder}book/{chapter}.html: {hits}"


def test_language_switcher_links_the_same_page_of_the_other_edition(visit, server, page_path):
    folder = next(f for f in sorted(FOLDERS, key=len, reverse=True) if page_path.startswith(f))
    page = page_path.removeprefix(folder)
    expected = [server + other + page for other in FOLDERS if other != folder]
    assert visit(page_path)["switcher"] == expected


def test_screenshots_saved(visit, page_path):
    visit(page_path)
    name = page_path.removesuffix(".html").replace("/", "-")
    for label in VIEWPORTS:
        shot = SCREENSHOTS / f"{name}-{label}.png"
        assert shot.stat().st_size > 10_000, f"{shot} is missing or blank"
