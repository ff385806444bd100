"""nbgrader's HTML feedback exporter: self-contained pages, templates compiled once per process.

nbgrader's feedback template loads MathJax from a CDN, so a student reading offline would
see raw TeX; here MathJax 3 (SVG output, no web fonts, from the pinned django-static-mathjax
wheel, as in the book) is written into the page instead. nbgrader also makes a new exporter
for every student, and Jinja would compile the same templates again each time; a bytecode
cache (Jinja's own mechanism) keeps them.
"""

from functools import cache
from pathlib import Path

import mathjax
from jinja2 import BytecodeCache, FileSystemLoader
from nbconvert.exporters import HTMLExporter
from traitlets import default

TEMPLATES = Path(__file__).parent / "templates"  # mathjax.html.j2, in place of nbconvert's
MATHJAX = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg.js"


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


class FeedbackExporter(HTMLExporter):
    """HTMLExporter with MathJax in the page and its templates compiled once per process."""

    @default("extra_loaders")
    def _extra_loaders_default(self):
        return [FileSystemLoader(str(TEMPLATES))]

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = CACHE
        environment.globals["mathjax_script"] = mathjax_script()
        return environment
