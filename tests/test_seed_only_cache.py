"""The chapter *Forward and backward* says when a cache of only the seed is right and when it
breaks, and the exercise's checks agree with it."""

import math
import re
from html import unescape

from mutants import MUTANTS, patched_answers
from notebook_cells import answer_source, failed_tests
from test_book_content import page


def test_chapter_says_when_a_seed_only_cache_breaks(built_book):
    html = page(built_book, "forward-and-backward")
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html)))
    assert "That is right only when the forward pass created its generator from that seed for that one call" in text
    assert "It breaks in training, where there is no seed" in text
    (wrong,) = re.findall(r'With <span class="math[^"]*">\\\(p = 0\.5\\\)</span>, <span class="pasted-text">([\d.]+)%</span>'
                          r"\s+of the gradient goes through the wrong", html)
    wrong = float(wrong) / 100
    assert math.isclose(wrong, 2 * 0.5 * (1 - 0.5), abs_tol=0.01), "the share of wrong units is 2p(1 − p)"


def test_the_check_measures_the_share_the_chapter_gives():
    """The backward check without a seed reports about 2p(1 − p) of the units wrong (p = 0.5 there)."""
    failures = failed_tests(answers=patched_answers(MUTANTS["backward redraws the mask from the seed"], answer_source))
    share = float(re.search(r"(\d+)% of the units differ", failures["test_backward_mask_without_seed"]).group(1))
    assert abs(share / 100 - 0.5) < 0.05
