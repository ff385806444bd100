"""Pages that read on a phone: the book's own style sheet, for what the theme leaves wide.

The theme puts every table in a scroll container, which on a phone hides all columns but
the first with no visible sign that there are more; ``phone_layout.css`` lets tables reflow
to the width of the screen instead.
"""

from pathlib import Path

STATIC = Path(__file__).parent / "static"


def _add_static_path(app, config):
    config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("config-inited", _add_static_path)
    app.add_css_file("phone_layout.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
