"""The built book in a real browser: Debian's Chromium, driven headless by Playwright,
reading the book over HTTP on localhost, every page of both editions as a student would see it.

Screenshots of every page at desktop and phone width land in _build/browser-screenshots/.
"""

import base64
import functools
import http.server
import io
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
from PIL import Image

from chapter_downloads import run_download
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
        assert nb.metadata.get("lang", "en") == (folder.rstrip("/") or "en"), "the notebook is not in the page's language"
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


# Phone width: what in the text is wider than the screen, and what scrolls sideways. Only code
# (a <pre> block) may scroll; an equation or a table that scrolls hides part of itself.
PHONE_LAYOUT = """() => {
    const width = document.documentElement.clientWidth;
    const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
    const inScroller = el => { for (let a = el.parentElement; a; a = a.parentElement) if (scrolls(a)) return true; return false; };
    const describe = el => `${el.tagName.toLowerCase()}: "${(el.textContent || '').trim().slice(0, 60)}"`;
    // MathJax's copy of each equation for screen readers (mjx-assistive-mml) is clipped to nothing
    // on screen, and its box, wider than what is drawn, does not widen the page.
    const visible = [...document.querySelectorAll('.bd-article *')].filter(el =>
        el.checkVisibility({visibilityProperty: true, opacityProperty: true}) && !el.closest('mjx-assistive-mml'));
    return {
        width,
        tooWide: visible.filter(el => el.getBoundingClientRect().right > width + 1 && !inScroller(el)).map(describe),
        hiddenBehindScroll: visible.filter(el => scrolls(el) && el.scrollWidth > el.clientWidth + 1
            && el.tagName !== 'PRE').map(describe),
        tallestRow: Math.max(0, ...[...document.querySelectorAll('.bd-article tr')].map(
            tr => tr.getBoundingClientRect().height)),
        lineHeight: parseFloat(getComputedStyle(document.querySelector('p')).lineHeight),
        figures: [...document.querySelectorAll('.bd-article figure img')].map(img => ({
            src: img.src, natural: img.naturalWidth, shown: img.getBoundingClientRect().width})),
    };
}"""


@pytest.fixture(scope="session")
def on_phone(browser, server):
    """Open a page at phone width (after MathJax has finished) and measure its layout."""

    @functools.cache
    def open_page(path):
        page = browser.new_page(viewport=VIEWPORTS["phone"])
        page.goto(server + path, wait_until="networkidle")
        page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
        report = page.evaluate(PHONE_LAYOUT)
        page.close()
        return report

    return open_page


def test_page_fits_a_phone(on_phone, page_path):
    """At 390 px nothing but code is wider than the screen or scrolls sideways: equations
    are broken into lines, tables reflow, and no table row is a tall, mostly empty box."""
    report = on_phone(page_path)
    assert report["width"] == VIEWPORTS["phone"]["width"]
    assert not report["tooWide"], f"wider than the phone's screen: {report['tooWide']}"
    assert not report["hiddenBehindScroll"], f"parts hidden behind a sideways scroll: {report['hiddenBehindScroll']}"
    assert report["tallestRow"] <= 6 * report["lineHeight"], f"a table row {report['tallestRow']:.0f} px tall"


# Smallest figure text, in CSS pixels as displayed, that a reader can read on a phone.
LEGIBLE_PX = 9


@pytest.mark.parametrize("chapter", ["why-divide-by-p", "forward-and-backward", "seed-pitfall", "regularisation"])
def test_figure_text_is_legible_on_a_phone(on_phone, server, chapter):
    """Each figure's smallest text, rendered at the figure's resolution and shrunk to the width
    the phone shows the image at, is at least 9 px tall. The text sizes come from running the
    chapter's downloadable notebook, which draws the same figures (checked by their widths)."""
    report = on_phone(f"book/{chapter}.html")
    status, text = _fetch(urljoin(server, f"_sources/book/{chapter}.ipynb"))
    assert status == 200, f"{chapter} offers no notebook to measure its figures with"
    executed, rendered = run_download(text)
    pngs = [Image.open(io.BytesIO(base64.b64decode(o["data"]["image/png"])))
            for c in executed.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(rendered) == len(pngs) == len(report["figures"]) > 0
    for shown, drawn, png in zip(report["figures"], rendered, pngs):
        assert abs(png.width - shown["natural"]) <= 2, "the notebook's figure is not the page's"
        px = drawn["smallest_text_pt"] * drawn["dpi"] / 72 * shown["shown"] / shown["natural"]
        assert px >= LEGIBLE_PX, (f"{shown['src']}: its smallest text ({drawn['smallest_text_pt']} pt at "
                                  f"{drawn['dpi']:.0f} dpi) shows {px:.1f} px tall on a phone")


@pytest.mark.parametrize("chapter", ["intro", "why-divide-by-p", "forward-and-backward", "seed-pitfall", "regularisation"])
def test_download_menu_offers_the_chapter_as_a_notebook_on_a_phone(browser, server, chapter):
    """The intro tells readers to rerun a chapter from its download menu: on a phone, that
    menu opens and lists the chapter's notebook."""
    page = browser.new_page(viewport=VIEWPORTS["phone"])
    page.goto(f"{server}book/{chapter}.html", wait_until="networkidle")
    page.click('button[aria-label="Download this page"]')
    entry = page.locator("a.btn-download-notebook-button")
    entry.wait_for(state="visible", timeout=5_000)
    href = entry.evaluate("a => a.href")
    page.close()
    status, text = _fetch(href)
    assert status == 200 and href.endswith(f"/{chapter}.ipynb"), href
    nbformat.validate(nbformat.reads(text, as_version=4))
