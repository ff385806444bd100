"""`python -m autograder grade ...`: the grading command (autograder.command).

The forkserver of its local workers (autograder.forkserver) starts first, so that it imports
the grading code for them while the command imports it for itself.
"""

import sys

from autograder.forkserver import start_forkserver

if __name__ == "__main__":
    if not any(arg == "--scheduler" or arg.startswith("--scheduler=") for arg in sys.argv[1:]):
        start_forkserver()
    from autograder.command import main

    sys.exit(main())
