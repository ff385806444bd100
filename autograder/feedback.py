"""An nbgrader preprocessor for feedback: failed checks show their message, not the hidden test code.

nbgrader's ClearHiddenTests removes the hidden part of each test cell's source; a failed
hidden call would still show its source line in the traceback, so test cells keep only the
error's last line, which the checks write in the student's terms.
"""

from nbgrader.preprocessors import NbGraderPreprocessor


class ShortenTestTracebacks(NbGraderPreprocessor):
    """Replace the traceback of every failed test cell by its final 'Error: message' line."""

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
