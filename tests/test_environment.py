"""The exact pins of requirements.lock are complete and consistent on their own."""

import subprocess
import venv

from conftest import ROOT


def test_lock_alone_gives_a_working_environment(tmp_path):
    venv.create(tmp_path / "env", with_pip=True)
    python = tmp_path / "env" / "bin" / "python"
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "-r", ROOT / "requirements.lock"],
        capture_output=True, text=True,
    )
    assert install.returncode == 0, install.stderr[-4000:]
    check = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, f"requirements.lock is missing or mis-pins a dependency:\n{check.stdout}"
    imports = "import jupyter_book, myst_nb, nbgrader, numpy, matplotlib, sphinxcontrib.bibtex, mathjax"
    run = subprocess.run([python, "-c", imports], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_every_pin_is_exact():
    lines = [l for l in (ROOT / "requirements.lock").read_text().splitlines() if l and not l.startswith("#")]
    loose = [l for l in lines if "==" not in l]
    assert not loose, f"requirements.lock has unpinned lines: {loose}"
