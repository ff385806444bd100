"""Serve MathJax 3 from the book itself, so equations render with no network.

The MathJax files come from the pinned ``django-static-mathjax`` wheel; they are
copied into ``_static/mathjax`` and Sphinx's ``mathjax_path`` points there.
"""

import shutil
from pathlib import Path

import mathjax

SOURCE = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
# tex-chtml.js plus what it loads lazily: TeX extensions, CHTML fonts, menu, a11y.
PARTS = ["tex-chtml.js", "input", "output/chtml", "ui", "a11y", "sre", "adaptors"]
TARGET = "_static/mathjax"


def _copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / TARGET
    for part in PARTS:
        source = SOURCE / part
        if source.is_dir():
            shutil.copytree(source, target / part, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)


def _point_mathjax_here(app, config):
    config.mathjax_path = f"{TARGET.removeprefix('_static/')}/tex-chtml.js"


def setup(app):
    app.connect("config-inited", _point_mathjax_here)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
