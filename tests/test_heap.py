"""Freed memory is kept for reuse: arrays as large as the checks' are made again without new pages."""

import subprocess
import sys

import pytest

from conftest import ROOT

MAKE_AND_FREE = """
import resource, sys
import numpy as np
from autograder import heap
if sys.argv[1] == "kept":
    heap.keep_freed_memory()
faults = []
for _ in range(30):  # four arrays of 100,000 floats, as a check's call passes them, made and freed
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    arrays = [np.ones(100_000) for _ in range(4)]
    del arrays
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(sum(faults[10:]))
"""


def page_faults(mode):
    """Page faults of rounds 11 to 30, in a new Python."""
    result = subprocess.run([sys.executable, "-c", MAKE_AND_FREE, mode], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    return int(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_freed_arrays_are_made_again_without_new_pages():
    default, kept = page_faults("default"), page_faults("kept")
    assert default > 20 * 4 * 100, "by default each round takes the pages of its arrays again (this test's premise)"
    assert kept < default / 50, f"{kept} page faults with freed memory kept, {default} without"
