"""nbgrader's HTML feedback exporter: small self-contained pages, made with a quarter less work.

nbgrader's feedback template loads MathJax from a CDN, so a student reading offline would
see raw TeX, and MathJax written into the page would make each page 2.3 MB. Here each
equation of the Markdown cells is turned into MathML when the page is made (latex2mathml),
which every current browser typesets without a script. nbgrader also makes a new exporter
for every student, and Jinja would compile the same templates again each time; a bytecode
cache (Jinja's own mechanism) keeps them. And nbconvert's HTMLExporter parses every page it
has rendered again with BeautifulSoup, only to add attributes; here they are added to the
rendered text (FeedbackExporter.from_notebook_node). Most cells are the same in every
student's page, so their highlighted code is kept too (KeptHighlight), and their Markdown's HTML
(_markdown: mistune took a third of a page's time). A notebook in another language (its
metadata's ``lang``) gets the page's own words in it, from the exercise's catalogue (LabelledLoader).
"""

import re
from functools import lru_cache
from pathlib import Path

from jinja2 import BaseLoader, BytecodeCache, FileSystemLoader, pass_context
from latex2mathml.converter import convert
from markupsafe import escape
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from traitlets import Unicode, default

from autograder.nbgrader_steps import CopiesOnce
from autograder.translation import FEEDBACK, catalogue_path, language_of, read_catalogue

TEMPLATES = Path(__file__).parent / "templates"  # mathjax.html.j2, in place of nbconvert's
NO_ALT = "No description has been provided for this image"  # nbconvert's words for an image without alt text
IMAGE_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)[^>]*?(?=/?>)")
# equations and cells kept per process: the course's own, in every page, stay; the students' own answers,
# each seen once, come and go, so that a worker's memory does not grow with the batch
KEPT = 256
KEPT_CHARS = 8192  # Markdown kept only up to this many characters: a course's cell is a paragraph or two


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


@lru_cache(maxsize=KEPT)
def mathml(tex, display):
    """An equation as MathML; TeX that latex2mathml cannot read is shown as its source."""
    try:
        return convert(tex, display=display)
    except Exception:  # latex2mathml raises many kinds of error on TeX it does not know
        return f'<code class="tex">{escape(tex)}</code>'


class MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer, with equations as MathML instead of TeX left for MathJax."""

    def block_math(self, body):
        return mathml(body, "block")

    def latex_environment(self, name, body):
        return mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block")

    def inline_math(self, body):
        return mathml(body, "inline")


@lru_cache(maxsize=KEPT)
def _highlighted(source, language, magics_language, formatter_options):
    """Highlight2HTML's page fragment for a cell, which depends on these alone."""
    highlight = Highlight2HTML(pygments_lexer=language, extra_formatter_options=dict(formatter_options))
    return highlight(source, language, {"magics_language": magics_language} if magics_language else None)


@lru_cache(maxsize=KEPT)
def _markdown(source, anchor_link_text, exclude_anchor_links, lexer_options):
    """HTMLExporter.markdown2html's HTML of a Markdown cell without attachments, with images not embedded."""
    renderer = MathMLRenderer(escape=False, attachments={}, embed_images=False, path="",
                              anchor_link_text=anchor_link_text, exclude_anchor_links=exclude_anchor_links,
                              **dict(lexer_options))
    return MarkdownWithMath(renderer=renderer).render(source)


class KeptHighlight(Highlight2HTML):
    """nbconvert's code highlighting, kept in this process for each cell (pygments: a third of a page's time)."""

    def __call__(self, source, language=None, metadata=None):
        return _highlighted(source, language or self.pygments_lexer, (metadata or {}).get("magics_language"),
                            tuple(sorted(self.extra_formatter_options.items())))


# The words of nbgrader's feedback page (nbgrader/server_extensions/formgrader/templates/feedback/index.html.j2),
# longest first, as they stand in its text; a page in another language shows their translations.
LABELS = ["Late submission penalty", "Coding free-response", "Written response", "Student's answer",
          "Student's task", "Grade cell:", "Comments:", "Test cell", "Comment", "Score:", "(Top)", "Task:", "Task"]
TEMPLATE_TEXT = re.compile(r"({{.*?}}|{%.*?%}|{#.*?#}|<[^>]*>)", re.S)  # what is not the page's text


# Korean breaks lines between words, not inside them (as on the book's Korean pages)
KOREAN_LINES = ":lang(ko) { word-break: keep-all; overflow-wrap: anywhere; }"
WORDS = re.compile("|".join(map(re.escape, LABELS)))


def labelled(template):
    """nbgrader's feedback template with each of its LABELS shown through `label`, and the page's language."""
    parts = TEMPLATE_TEXT.split(template)
    parts[::2] = [WORDS.sub(lambda word: '{{ label("%s") }}' % word.group(), text) for text in parts[::2]]
    page = "".join(parts).replace("<html>", """<html lang="{{ nb.metadata.get('lang', 'en') }}">""", 1)
    return page.replace("</head>", f"<style>{KOREAN_LINES}</style>\n</head>", 1)


class LabelledLoader(BaseLoader):
    """A template loader that gives nbgrader's feedback page its words through `label` (labelled)."""

    def __init__(self, loader):
        self.loader = loader

    def get_source(self, environment, template):
        source, filename, uptodate = self.loader.get_source(environment, template)
        if filename and Path(filename).parts[-3:] == ("templates", "feedback", "index.html.j2"):
            source = labelled(source)
        return source, filename, uptodate


class FeedbackExporter(HTMLExporter, CopiesOnce):
    """HTMLExporter with MathML equations, templates, code and Markdown kept per process, no second parse, one
    copy of the notebook (CopiesOnce)."""

    locale_dir = Unicode("", help="The folder of the exercise's catalogues, for pages in another language.").tag(
        config=True)

    @default("extra_loaders")
    def _extra_loaders_default(self):
        return [FileSystemLoader(str(TEMPLATES))]

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = CACHE
        environment.loader = LabelledLoader(environment.loader)
        environment.globals["label"] = self.label
        return environment

    @pass_context
    def label(self, context, word):
        """One of the page's LABELS in the notebook's language."""
        language = language_of(context["nb"])
        if language == "en":
            return word
        return read_catalogue(catalogue_path(self.locale_dir, language), context=FEEDBACK).get(word, word)

    @pass_context
    def markdown2html(self, context, source):
        """HTMLExporter.markdown2html with MathMLRenderer; kept in this process (_markdown) but for long text
        and for a cell with attachments or with images embedded, whose HTML depends on more than its text."""
        attachments = context.get("cell", {}).get("attachments", {})
        if len(source) <= KEPT_CHARS and not attachments and not self.embed_images:
            return _markdown(source, self.anchor_link_text, self.exclude_anchor_links,
                             tuple(sorted(self.lexer_options.items())))
        renderer = MathMLRenderer(
            escape=False, attachments=attachments, embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text, exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options)
        return MarkdownWithMath(renderer=renderer).render(source)

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
