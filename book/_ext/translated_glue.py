"""Glued numbers in translated paragraphs.

Sphinx translates a paragraph by parsing its msgstr as a new little document, after the
notebook itself has been parsed. myst-nb's glue roles look a key up in the notebook being
parsed (``document["nb_renderer"]``), which that little document does not have, so every
``{glue:text}`key``` in a Korean paragraph fails with "No key ... found in glue data".
myst-nb also has the form ``{glue:text}`doc.md::key```, resolved after reading from the
glue data it saved for that notebook. Outside a notebook's own parse, this turns a local
key into that form for the current notebook, so the Korean page shows the very numbers
the notebook computed, and the catalogues keep the English role text unchanged.
"""

from pathlib import Path

from myst_nb.ext.glue.roles import PasteMarkdownRole, PasteRoleAny, PasteTextRole


class SameNotebookByPath:
    """A glue role that reads a local key from the current notebook's saved glue data
    when it is not inside that notebook's own parse."""

    def __init__(self, role, default_format=""):
        self.role = role
        self.default_format = default_format

    def __call__(self, name, rawtext, text, lineno, inliner, options=None, content=()):
        document = inliner.document
        if "::" not in text and "nb_renderer" not in document:
            env = document.settings.env
            if self.default_format and ":" not in text:
                # myst-nb 1.4's text role reads "doc::key" as key "doc:" with format "key"
                # (it splits at the last colon): say the default format explicitly
                text += self.default_format
            text = f"{Path(env.doc2path(env.docname)).name}::{text}"
        return self.role(name, rawtext, text, lineno, inliner, options or {}, content)


def setup(app):
    app.add_role("glue", SameNotebookByPath(PasteRoleAny()), override=True)
    app.add_role_to_domain("glue", "any", SameNotebookByPath(PasteRoleAny()), override=True)
    app.add_role_to_domain("glue", "text", SameNotebookByPath(PasteTextRole(), default_format=":s"), override=True)
    app.add_role_to_domain("glue", "md", SameNotebookByPath(PasteMarkdownRole()), override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
