"""Text drawn inside the book's figures, in the language of the edition being built.

A chapter writes each label of a figure as ``translated("keep probability $p$")``. The
English build draws the text as written. The Korean build (``BOOK_LANGUAGE=ko``, set for
its kernels by ``book/_ext/editions.py``) draws the translation from the chapters'
catalogues in ``locales/ko/LC_MESSAGES/book/``, where ``book/_ext/figure_messages.py``
puts these labels, and importing this module sets matplotlib's font to one that has
every Korean glyph.
"""

import os
from pathlib import Path

import matplotlib
from babel.messages.pofile import read_po
from matplotlib import font_manager

LOCALES = Path(__file__).resolve().parents[1] / "locales"
# A font with every glyph the figures draw: Debian's fonts-nanum (make system-packages).
FONTS = {"ko": Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")}


def catalogue(language):
    """msgid -> msgstr of every translated, non-fuzzy message of the chapters' catalogues."""
    table = {}
    for po in sorted((LOCALES / language / "LC_MESSAGES" / "book").glob("*.po")):
        with po.open("rb") as file:
            table.update({m.id: m.string for m in read_po(file) if m.id and m.string and not m.fuzzy})
    return table


def use_font(path):
    """Draw all text in the font file at path (registered by path: a stale font cache cannot miss it)."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: install it with `make system-packages` (Debian's fonts-nanum)")
    font_manager.fontManager.addfont(str(path))
    matplotlib.rcParams["font.family"] = [font_manager.FontProperties(fname=path).get_name()]
    matplotlib.rcParams["axes.unicode_minus"] = False  # NanumGothic has no U+2212 MINUS SIGN: draw "-"


LANGUAGE = os.environ.get("BOOK_LANGUAGE", "en")
MESSAGES = catalogue(LANGUAGE) if LANGUAGE != "en" else {}
if LANGUAGE in FONTS:
    use_font(FONTS[LANGUAGE])


def translated(message):
    """The message in the edition's language (as written when it has no translation yet)."""
    return MESSAGES.get(message, message)
