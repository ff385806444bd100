"""A cell's outputs, kept up to a number of bytes and coalesced in time linear in what is kept.

Whatever a submission prints or displays reaches the grading process as kernel messages.
`OutputBudget` decides, message by message, what of it is kept: at most `limit` bytes per
cell (text and data alike, measured as UTF-8), the rest dropped as it arrives and the cut
marked by a last output of the cell (a display, which nbgrader's LimitOutput leaves alone). `coalesce` then merges each stream into one output
and applies its carriage returns as nbclient does, in one pass.

nbclient's own coalescing (NotebookClient.async_execute_cell with ``coalesce_streams``,
nbclient 0.11) cannot be used on student output: it applies the regular expression
``.*\\r(?=[^\\n])`` (``_RGX_CARRIAGERETURN``) to the whole text, which backtracks
quadratically on a long line without a ``\\r`` (a 270 kB line costs a minute, holding the
GIL). (Its loop meant to apply backspaces never runs: they are kept, as here.)
"""

from nbformat.v4 import new_output

CUT_MARK = "[output cut: this cell printed more than {limit}; the rest was not kept]\n"
CONTENT_MESSAGES = {"stream", "display_data", "execute_result", "update_display_data", "error"}


def is_cut_mark(output):
    return output.get("output_type") == "display_data" and str(output.get("data", {}).get("text/plain", "")).startswith(
        CUT_MARK[:12])


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
    """Bytes each cell may keep; messages beyond are cut (`admit`), and the cut cells remembered."""

    def __init__(self, limit):
        self.limit = limit
        self.kept = {}  # cell index -> bytes kept
        self.cut = set()  # cell indices whose output was cut

    def admit(self, msg, cell_index):
        """True to keep this kernel message (a stream's text may be shortened to fit), False to drop it."""
        if msg.get("msg_type") not in CONTENT_MESSAGES:
            return True
        content = msg.get("content")
        if not isinstance(content, dict):
            return False  # not a message any kernel sends: nothing of it is kept
        left = self.limit - self.kept.get(cell_index, 0)
        cost = size(content)
        if cost <= left:
            self.kept[cell_index] = self.kept.get(cell_index, 0) + cost
            return True
        self.cut.add(cell_index)
        text = content.get("text")
        if msg["msg_type"] == "stream" and isinstance(text, str) and left > 0:
            content["text"] = text.encode("utf-8", "surrogatepass")[:left].decode("utf-8", "ignore")
            self.kept[cell_index] = self.limit
            return True
        self.kept[cell_index] = self.limit
        return False

    def mark(self, cell_index):
        """The output that ends a cut cell's outputs, or None."""
        if cell_index in self.cut:
            return new_output("display_data", data={"text/plain": CUT_MARK.format(limit=describe(self.limit))})
        return None


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
