"""Execute a notebook in a fresh kernel, in its own folder, as a student's Run All would."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path, timeout=60):
    """Run every cell of the notebook at ``path``; return the executed notebook (raises on error)."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb
