"""nbgrader's HTML feedback exporter: self-contained pages, made with a quarter less work.

nbgrader's feedback template loads MathJax from a CDN, so a student reading offline would
see raw TeX; here MathJax 3 (SVG output, no web fonts, from the pinned django-static-mathjax
wheel, as in the book) is written into the page instead. nbgrader also makes a new exporter
for every student, and Jinja would compile the same templates again each time; a bytecode
cache (Jinja's own mechanism) keeps them. And nbconvert's HTMLExporter parses every page it
has rendered again with BeautifulSoup, only to add attributes; here they are added to the
rendered text (FeedbackExporter.from_notebook_node). Most cells are the same in every
student's page, so their highlighted code is kept too (KeptHighlight).
"""

import re
from functools import cache, lru_cache
from pathlib import Path

import mathjax
from jinja2 import BytecodeCache, FileSystemLoader
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from traitlets import default

TEMPLATES = Path(__file__).parent / "templates"  # mathjax.html.j2, in place of nbconvert's
MATHJAX = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg.js"
NO_ALT = "No description has been provided for this image"  # nbconvert's words for an image without alt text
IMAGE_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)[^>]*?(?=/?>)")


class MemoryBytecodeCache(BytecodeCache):
    """Compiled templates, kept in memory; Jinja checks each against its source's checksum."""

    def __init__(self):
        self.compiled = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


CACHE = MemoryBytecodeCache()


@cache
def mathjax_script():
    return MATHJAX.read_text(encoding="utf-8")


@lru_cache(maxsize=2048)
def _highlighted(source, language, magics_language, formatter_options):
    """Highlight2HTML's page fragment for a cell, which depends on these alone."""
    highlight = Highlight2HTML(pygments_lexer=language, extra_formatter_options=dict(formatter_options))
    return highlight(source, language, {"magics_language": magics_language} if magics_language else None)


class KeptHighlight(Highlight2HTML):
    """nbconvert's code highlighting, kept in this process for each cell (pygments: a third of a page's time)."""

    def __call__(self, source, language=None, metadata=None):
        return _highlighted(source, language or self.pygments_lexer, (metadata or {}).get("magics_language"),
                            tuple(sorted(self.extra_formatter_options.items())))


class FeedbackExporter(HTMLExporter):
    """HTMLExporter with MathJax in the page, templates and highlighted code kept per process, no second parse."""

    @default("extra_loaders")
    def _extra_loaders_default(self):
        return [FileSystemLoader(str(TEMPLATES))]

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = CACHE
        environment.globals["mathjax_script"] = mathjax_script()
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        """HTMLExporter.from_notebook_node, with its BeautifulSoup pass done on the text.

        That pass (a quarter of a feedback page's CPU time) gives each image without alt
        text nbconvert's default alt text, done here by IMAGE_WITHOUT_ALT, and makes the
        cells of JupyterLab's template focusable, which nbgrader's classic-based feedback
        page has none of.
        """
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        resources = self._init_resources(resources)
        self.register_filter("highlight_code",
                             self.filters.get("highlight_code", KeptHighlight(pygments_lexer=lexer, parent=self)))
        self.register_filter("filter_data_type",
                             WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return IMAGE_WITHOUT_ALT.sub(rf'\g<0> alt="{NO_ALT}"', html), resources
