"""Run a chapter notebook, as downloaded from the book, the way a student would: in a plain
Jupyter kernel in an empty folder, where the book's build tools cannot be imported.

While it runs, every figure the kernel renders is measured: the smallest text on it (in
points) and the resolution it is rendered at, so that a test can tell how large that text
is when the image is shown at a given width.
"""

import functools
import json
import os
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

# What only the book's build has. A stub package of each name comes first on the kernel's
# path, so importing one fails as it would in a student's Jupyter.
BUILD_ONLY = ("myst_nb", "myst_parser", "sphinx", "jupyter_book", "jupyter_cache", "digits_mlp")

# Run first: record, for each figure the inline backend renders, its smallest text and its dpi.
MEASURE_FIGURES = '''
import matplotlib.backend_bases, matplotlib.text
_rendered_figures = []
_print_figure = matplotlib.backend_bases.FigureCanvasBase.print_figure
def _measured_print_figure(canvas, *args, **kwargs):
    texts = [t for t in canvas.figure.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]
    _rendered_figures.append({"smallest_text_pt": min(t.get_fontsize() for t in texts),
                              "dpi": kwargs.get("dpi") or canvas.figure.dpi})
    return _print_figure(canvas, *args, **kwargs)
matplotlib.backend_bases.FigureCanvasBase.print_figure = _measured_print_figure
'''
REPORT_FIGURES = "import json; print(json.dumps(_rendered_figures))"


@functools.cache
def run_download(text):
    """Execute a downloaded notebook (its JSON text); return (executed notebook, figures measured)."""
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    student_cells = len(nb.cells)
    nb.cells = [nbformat.v4.new_code_cell(MEASURE_FIGURES), *nb.cells, nbformat.v4.new_code_cell(REPORT_FIGURES)]
    with tempfile.TemporaryDirectory() as folder:
        stubs = Path(folder) / "build-only"
        for name in BUILD_ONLY:
            (stubs / name).mkdir(parents=True)
            (stubs / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed')\n")
        work = Path(folder) / "work"
        work.mkdir()
        client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}})
        client.execute(env={**os.environ, "PYTHONPATH": str(stubs)})
    figures = json.loads(nb.cells[-1].outputs[0]["text"])
    nb.cells = nb.cells[1:1 + student_cells]
    return nb, figures
