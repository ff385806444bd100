"""A cell's output: kept up to its byte budget, coalesced as nbclient does but in one pass."""

import random

from nbclient.client import _RGX_CARRIAGERETURN
from nbformat.v4 import new_output

from autograder.outputs import OutputBudget, coalesce, is_cut_mark, is_total_mark


def stream(text, name="stdout"):
    return {"msg_type": "stream", "content": {"name": name, "text": text}}


def test_carriage_returns_give_what_nbclient_gives():
    rng = random.Random(0)
    for _ in range(20_000):
        text = "".join(rng.choice("ab\n\r\b") for _ in range(rng.randint(0, 14)))
        merged = coalesce([new_output("stream", name="stdout", text=text)])
        assert merged[0]["text"] == _RGX_CARRIAGERETURN.sub("", text), repr(text)


def test_streams_are_merged_with_stdout_first():
    outputs = [new_output("stream", name="stderr", text="warn\n"), new_output("stream", name="stdout", text="a\r"),
               new_output("stream", name="stdout", text="b\n"), new_output("stream", name="stderr", text="again\n")]
    merged = coalesce(outputs)
    assert [(o["name"], o["text"]) for o in merged] == [("stdout", "b\n"), ("stderr", "warn\nagain\n")]


def test_a_line_of_sixty_megabytes_is_coalesced():
    """nbclient's expression never finishes on it (quadratic backtracking); one pass does."""
    merged = coalesce([new_output("stream", name="stdout", text="x" * 60_000_000 + "\rdone")])
    assert merged[0]["text"] == "done"


def test_output_beyond_the_budget_is_cut_and_marked():
    budget = OutputBudget(100)
    assert budget.admit(stream("a" * 60), 0) and budget.mark(0) is None
    message = stream("é" * 60)  # 126 bytes with its name, 34 of them still fit
    assert budget.admit(message, 0) and message["content"]["text"] == "é" * 17
    image = {"msg_type": "display_data", "content": {"data": {"image/png": "A" * 10}, "metadata": {}}}
    assert not budget.admit(image, 0) and not budget.admit(stream("more"), 0)
    assert is_cut_mark(budget.mark(0)) and "100 KiB" not in budget.mark(0)["data"]["text/plain"]
    assert budget.admit(image, 1) and budget.mark(1) is None, "each cell has a budget of its own"
    assert budget.admit({"msg_type": "status", "content": {"execution_state": "idle"}}, 0), "control messages pass"
    assert not budget.admit({"msg_type": "stream", "content": "not a dict"}, 2)


def test_all_cells_together_keep_no_more_than_the_notebooks_total():
    """However many cells print up to their own limit, the notebook keeps its total; the cells beyond are marked."""
    budget = OutputBudget(100, total=250)
    kept = []
    for cell in range(5):
        message = stream("x" * 90)  # 96 bytes with its name
        kept.append(len(message["content"]["text"]) if budget.admit(message, cell) else 0)
    assert kept == [90, 90, 58, 0, 0] and budget.spent == 250
    assert not budget.admit(stream("x"), 5), "nothing more, in any cell"
    assert [budget.mark(cell) is None for cell in range(6)] == [True, True, False, False, False, False]
    assert all(is_total_mark(budget.mark(cell)) and not is_cut_mark(budget.mark(cell)) for cell in (2, 3, 4, 5))
    assert "250 B" not in budget.mark(2)["data"]["text/plain"]
