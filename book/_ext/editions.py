"""The book's two editions, English at the root of the HTML and Korean under ``ko/``.

Both are built from the same sources; ``make book`` runs the second build with
``language: ko`` (see ``book/_ext/edition_config.py``). This extension, in either build:

- links every page to the same page of the other edition (``book/_templates/language-switcher.html``,
  in the theme's article header);
- puts the theme's and the configuration's strings in the page's language: sphinx-book-theme's
  catalogue is read from ``locales/`` before the theme's own, and the strings jupyter-book
  and myst-nb take from the configuration (the title, the authors, the search box, the
  code-cell prompts) are translated with ``locales/<language>/LC_MESSAGES/editions.po``;
- tells the kernels that draw the figures which language to draw in (``BOOK_LANGUAGE``,
  read by ``book/figure_text.py``).
"""

import os
from pathlib import Path

import sphinx_book_theme
from sphinx import locale
from sphinx.util.i18n import CatalogInfo

# language -> (its own name, the folder of its edition inside the HTML output)
EDITIONS = {"en": ("English", ""), "ko": ("한국어", "ko/")}
LOCALES = Path(__file__).resolve().parents[2] / "locales"
SWITCHER = "language-switcher.html"
STATIC = Path(__file__).resolve().parent / "static"  # editions.css: the switcher's layout
THEME_CATALOGUE = "booktheme"  # sphinx_book_theme.MESSAGE_CATALOG_NAME
CONFIG_CATALOGUE = "editions"
TRANSLATED_CONFIG = ["html_title", "author", "nb_code_prompt_show", "nb_code_prompt_hide"]


def other_editions(language, pagename):
    """[(language, name, relative link)] from this page to the same page of every other edition."""
    here = EDITIONS[language][1] + pagename
    up = "../" * here.count("/")
    return [(lang, name, f"{up}{folder}{pagename}.html")
            for lang, (name, folder) in EDITIONS.items() if lang != language]


def _compile(language, catalogue):
    """Compile a catalogue of ours when its .po is newer than its .mo; True if it was."""
    po = LOCALES / language / "LC_MESSAGES" / f"{catalogue}.po"
    info = CatalogInfo(str(po.parent), catalogue, "utf-8")
    if po.exists() and info.is_outdated():
        info.write_mo(language)
        return True
    return False


def _load_catalogues(app):
    """Our catalogue of the theme's strings goes before the theme's own; then the configuration's."""
    language = app.config.language
    changed = [_compile(language, catalogue) for catalogue in (THEME_CATALOGUE, CONFIG_CATALOGUE)]
    if any(changed):  # every page shows these strings, but Sphinx only tracks the chapters' catalogues
        app.connect("env-get-outdated", lambda app, env, *changes: sorted(env.found_docs))
    theme_locales = Path(sphinx_book_theme.get_html_theme_path()) / "static" / "locales"
    locale.translators.pop(("general", THEME_CATALOGUE), None)
    locale.init([str(LOCALES), str(theme_locales)], language, THEME_CATALOGUE)
    app.add_message_catalog(CONFIG_CATALOGUE, str(LOCALES))


def _configure(app, config):
    os.environ["BOOK_LANGUAGE"] = config.language or "en"
    translate = locale.get_translation(CONFIG_CATALOGUE)
    for name in TRANSLATED_CONFIG:
        if isinstance(config[name], str):
            setattr(config, name, str(translate(config[name])))
    options = config.html_theme_options
    header_end = options.get("article_header_end", ["article-header-buttons.html"])
    if isinstance(header_end, str):
        header_end = [header_end]
    options["article_header_end"] = [*(t for t in header_end if t != SWITCHER), SWITCHER]
    if "search_bar_text" in options:  # jupyter-book sets it in English
        options["search_bar_text"] = str(locale.get_translation(THEME_CATALOGUE)(options["search_bar_text"]))


def _add_switcher_links(app, pagename, templatename, context, doctree):
    context["other_editions"] = editions = other_editions(app.config.language or "en", pagename)
    # the same links for browsers and search engines: <link rel="alternate" hreflang>
    context["metatags"] = context.get("metatags", "") + "".join(
        f'\n<link rel="alternate" hreflang="{lang}" href="{href}" />' for lang, _, href in editions)


def _add_stylesheet(app, config):
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def setup(app):
    _load_catalogues(app)
    app.add_css_file("editions.css")
    app.connect("config-inited", _add_stylesheet)
    app.connect("config-inited", _configure)
    app.connect("html-page-context", _add_switcher_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
