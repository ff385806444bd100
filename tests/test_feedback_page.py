"""The feedback exporter makes the page nbconvert's HTMLExporter makes, without parsing it twice."""

from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.feedback import NO_ALT, FeedbackExporter

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def notebook():
    """Images with and without alt text, highlighted code (one source in two languages), an equation, text output."""
    return new_notebook(metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}}, cells=[
        new_markdown_cell(f"The mask $m$ keeps units. ![a plot](data:image/png;base64,{PNG}) <img src='x.png'/>"),
        new_code_cell("import numpy as np\nprint(np.ones(3) / 0.5)", outputs=[
            new_output("stream", name="stdout", text="[2. 2. 2.]\n"),
            new_output("display_data", data={"image/png": PNG}),
            new_output("display_data", data={"image/png": PNG}, metadata={"image/png": {"alt": "kept units"}}),
            new_output("display_data", data={"image/jpeg": PNG}),
        ]),
        new_code_cell("import numpy as np\nprint(np.ones(3) / 0.5)", metadata={"magics_language": "bash"}),
    ])


def test_the_page_is_nbconverts_page():
    """Parsed, our page is the page HTMLExporter would have made (its own pass included), also from kept code."""
    exporter, nb = FeedbackExporter(template_name="classic"), notebook()
    first, again = (exporter.from_notebook_node(nb)[0] for _ in range(2))
    nbconverts, _ = HTMLExporter.from_notebook_node(exporter, nb)
    assert str(BeautifulSoup(first, features="html.parser")) == nbconverts
    assert again == first


def test_every_image_has_alt_text():
    """An image without alt text gets nbconvert's default; one with alt text keeps its own."""
    page = BeautifulSoup(FeedbackExporter(template_name="classic").from_notebook_node(notebook())[0],
                         features="html.parser")
    alts = [img.get("alt") for img in page.find_all("img")]
    assert alts == ["a plot", NO_ALT, NO_ALT, "kept units", NO_ALT], alts


def test_equations_are_mathml_without_mathjax():
    """Each equation is MathML made with the page (no MathJax to ship or run); unknown TeX shows as its source."""
    nb = notebook()
    nb.cells.append(new_markdown_cell("$$\\mathbb{E}[m_i] = p \\cdot \\tfrac{1}{p} = 1$$ and $\\frac{1}{$"))
    page = BeautifulSoup(FeedbackExporter(template_name="classic").from_notebook_node(nb)[0], features="html.parser")
    assert [m.get("display") for m in page.find_all("math")] == ["inline", "block"]
    assert [code.get_text() for code in page.find_all("code", class_="tex")] == ["\\frac{1}{"]
    assert not [script for script in page.find_all("script") if "mathjax" in str(script).lower()]
