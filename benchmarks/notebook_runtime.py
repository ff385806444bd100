"""Print how long the exercise's solution notebook takes to run top to bottom (kernel start included).

Usage: .venv/bin/python benchmarks/notebook_runtime.py [RUNS]
"""

import statistics
import sys
import time
from pathlib import Path

from autograder.notebooks import execute

NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions" / "dropout" / "dropout.ipynb"


def main(runs=3):
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        execute(NOTEBOOK)
        seconds.append(time.perf_counter() - start)
    print(f"{NOTEBOOK.name}: median {statistics.median(seconds):.2f} s over {runs} runs "
          f"(min {min(seconds):.2f} s, max {max(seconds):.2f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
