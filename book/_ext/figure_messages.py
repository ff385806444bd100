"""Put the text drawn inside figures into the chapters' translation catalogues.

Figure labels are strings in code cells, written ``translated("...")`` (see
``book/figure_text.py``), which Sphinx's gettext builder does not see. When it writes a
chapter's catalogue, this adds the literal of every such call in the chapter's code cells,
so the labels are translated in the same ``.po`` file as the prose around them.

It also lets the gettext builder see the cell outputs that the HTML builder shows (myst-nb
has no output priority for gettext and drops them), so the figures' alt texts are extracted.
"""

import ast
from pathlib import Path

from myst_nb.core.read import read_myst_markdown_notebook
from myst_nb.core.render import base_render_priority
from sphinx.builders.gettext import MsgOrigin
from sphinx.util.i18n import docname_to_domain


def figure_messages(source):
    """(line, message) of each translated("literal") call in the code cells of a MyST notebook's text."""
    notebook = read_myst_markdown_notebook(source, add_source_map=True)
    for cell, first_line in zip(notebook.cells, notebook.metadata.get("source_map", [])):
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "translated"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                yield first_line + node.lineno, node.args[0].value


def _add_to_catalogue(app, doctree, docname):
    if app.builder.name != "gettext":
        return
    path = Path(app.env.doc2path(docname))
    if path.suffix != ".md":
        return
    catalogue = app.builder.catalogs[docname_to_domain(docname, app.config.gettext_compact)]
    for line, message in figure_messages(path.read_text(encoding="utf-8")):
        catalogue.add(message, MsgOrigin(str(path), line))


def _show_outputs_to_gettext(app, config):
    html = base_render_priority()["html"]
    config.nb_mime_priority_overrides = [*config.nb_mime_priority_overrides,
                                         *(("gettext", mime, priority) for mime, priority in html.items())]


def setup(app):
    app.connect("config-inited", _show_outputs_to_gettext)
    app.connect("doctree-resolved", _add_to_catalogue)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
