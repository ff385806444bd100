"""A cell's outputs, kept up to a number of bytes and coalesced in time linear in what is kept.

Whatever a submission prints or displays reaches the grading process as kernel messages.
`OutputBudget` decides, message by message, what of it is kept: at most `limit` bytes per
cell and `total` bytes for the whole notebook (text and data alike, measured as UTF-8), the
rest dropped as it arrives and the cut marked by a last output of the cell (a display, which
nbgrader's LimitOutput leaves alone). The total bounds what nbgrader and the feedback page
must then process, however many cells a student adds. `coalesce` then merges each stream into one output
and applies its carriage returns as nbclient does, in one pass.

nbclient's own coalescing (NotebookClient.async_execute_cell with ``coalesce_streams``,
nbclient 0.11) cannot be used on student output: it applies the regular expression
``.*\\r(?=[^\\n])`` (``_RGX_CARRIAGERETURN``) to the whole text, which backtracks
quadratically on a long line without a ``\\r`` (a 270 kB line costs a minute, holding the
GIL). (Its loop meant to apply backspaces never runs: they are kept, as here.)
"""

from nbconvert.filters.ansi import strip_ansi
from nbformat.v4 import new_output

CUT_MARK = "[output cut: this cell printed more than {limit}; the rest was not kept]\n"
TOTAL_MARK = "[output cut: the notebook's cells printed more than {limit} together; the rest was not kept]\n"
TOO_LARGE_MARK = ("[output cut: this cell sent more than {limit} in one message, which was not kept; its kernel was "
                  "restarted and the cells before it run again]\n")
CONTENT_MESSAGES = {"stream", "display_data", "execute_result", "update_display_data", "error"}


def _marked(output, mark):
    text = output.get("data", {}).get("text/plain", "") if output.get("output_type") == "display_data" else ""
    return isinstance(text, str) and text.startswith(mark[:mark.index("{")])


def is_cut_mark(output):
    """The mark of a cell that printed more than its own limit."""
    return _marked(output, CUT_MARK)


def is_total_mark(output):
    """The mark of a cell cut because the notebook's cells printed more than their total together."""
    return _marked(output, TOTAL_MARK)


def too_large_mark(limit):
    """The output that ends a cell whose kernel sent a message over limit bytes (autograder.trusted)."""
    return new_output("display_data", data={"text/plain": TOO_LARGE_MARK.format(limit=describe(limit))})


def is_too_large_mark(output):
    return _marked(output, TOO_LARGE_MARK)


def size(value):
    """Bytes of the strings in a message's content (UTF-8), in one pass."""
    if isinstance(value, str):
        return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, dict):
        return sum(size(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(size(v) for v in value)
    return 8


def describe(limit):
    return f"{limit / 2**20:g} MiB" if limit >= 2**20 else f"{limit / 2**10:g} KiB"


class OutputBudget:
    """Bytes each cell, and all cells together, may keep; messages beyond are cut (`admit`), cut cells noted."""

    def __init__(self, limit, total=None):
        self.limit, self.total = limit, float("inf") if total is None else total
        self.kept, self.spent = {}, 0  # cell index -> bytes kept; bytes kept in all cells
        self.cut = set()  # cell indices whose output was cut at their own limit
        self.cut_by_total = set()  # cell indices whose output was cut at the notebook's total

    def admit(self, msg, cell_index):
        """True to keep this kernel message (a stream's text may be shortened to fit), False to drop it."""
        if msg.get("msg_type") not in CONTENT_MESSAGES:
            return True
        content = msg.get("content")
        if not isinstance(content, dict):
            return False  # not a message any kernel sends: nothing of it is kept
        if cell_index in self.cut or cell_index in self.cut_by_total:
            return False  # the rest of a cut cell's output is cut too
        in_cell = self.kept.get(cell_index, 0)
        left_in_cell, left_in_all = self.limit - in_cell, self.total - self.spent
        left, cost = min(left_in_cell, left_in_all), size(content)
        if cost <= left:
            self.kept[cell_index], self.spent = in_cell + cost, self.spent + cost
            return True
        (self.cut if left_in_cell <= left_in_all else self.cut_by_total).add(cell_index)
        text = content.get("text")
        if msg["msg_type"] == "stream" and isinstance(text, str) and left > 0:
            content["text"] = text.encode("utf-8", "surrogatepass")[:left].decode("utf-8", "ignore")
            self.kept[cell_index], self.spent = in_cell + left, self.spent + left
            return True
        return False

    def mark(self, cell_index):
        """The output that ends a cut cell's outputs, or None."""
        if cell_index in self.cut:
            return new_output("display_data", data={"text/plain": CUT_MARK.format(limit=describe(self.limit))})
        if cell_index in self.cut_by_total:
            return new_output("display_data", data={"text/plain": TOTAL_MARK.format(limit=describe(self.total))})
        return None


class Renderings:
    """What of a notebook's kept output the feedback page renders richly; the rest it shows as plain text.

    Rendering costs far more than keeping for two kinds of output (nbconvert 7, measured with
    benchmarks/hostile_batch.py): ANSI colours (``ansi2html`` takes microseconds per escape
    code: 1 MiB of coloured text, a minute) and Markdown (mistune: seconds per MiB). Beyond
    `escapes` escape codes the colours are dropped, beyond `markdown` bytes the Markdown is
    shown as its text, so that a page takes seconds to make, whatever a student printed.
    """

    def __init__(self, escapes=20_000, markdown=128 * 2**10):
        self.escapes, self.markdown = escapes, markdown

    def _text(self, text):
        found = text.count("\x1b")
        if found <= self.escapes:
            self.escapes -= found
            return text
        self.escapes = 0
        return strip_ansi(text)

    def tame(self, outputs):
        """outputs, with what is beyond the notebook's rich rendering made plain (in place)."""
        for output in outputs:
            kind = output.get("output_type")
            if kind == "stream" and isinstance(output.get("text"), str):
                output["text"] = self._text(output["text"])
            elif kind == "error" and isinstance(output.get("traceback"), list):
                output["traceback"] = [self._text(line) if isinstance(line, str) else line
                                       for line in output["traceback"]]
            elif kind in ("display_data", "execute_result") and isinstance(output.get("data"), dict):
                markdown = output["data"].get("text/markdown")
                if isinstance(markdown, str) and len(markdown) > self.markdown:
                    output["data"].setdefault("text/plain", markdown)
                    del output["data"]["text/markdown"]
                    self.markdown = 0
                elif isinstance(markdown, str):
                    self.markdown -= len(markdown)
                if isinstance(output["data"].get("text/plain"), str):
                    output["data"]["text/plain"] = self._text(output["data"]["text/plain"])
        return outputs


def _carriage_returns(text):
    """On each line, what follows its last carriage return that is not the line's end (nbclient's rule)."""
    if "\r" not in text:
        return text
    lines = text.split("\n")
    for number, line in enumerate(lines):
        cut = line.rfind("\r", 0, len(line) - 1)
        if cut >= 0:
            lines[number] = line[cut + 1:]
    return "\n".join(lines)


def coalesce(outputs):
    """nbclient's coalesce_streams, in linear time: one output per stream, carriage returns applied, stdout first."""
    merged, texts = [], {}
    for output in outputs:
        if output.get("output_type") == "stream":
            if output["name"] not in texts:
                texts[output["name"]] = []
                merged.append(output)
            texts[output["name"]].append(output["text"])
        else:
            merged.append(output)
    for output in merged:
        if output.get("output_type") == "stream":
            output["text"] = _carriage_returns("".join(texts[output["name"]]))
    for number, output in enumerate(merged):  # as nbclient does: stdout before the stderr it came with
        if (output.get("output_type") == "stream" and output["name"] == "stderr" and number + 1 < len(merged)
                and merged[number + 1].get("output_type") == "stream" and merged[number + 1]["name"] == "stdout"):
            merged.insert(number, merged.pop(number + 1))
    return merged
