"""The Python versions the project supports, and where to find each on this machine."""

import glob
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

SUPPORTED = ("3.11", "3.12", "3.13")
UV = ROOT / ".uv" / "bin" / "uv"  # the pinned uv that `make` installs
CURRENT = f"{sys.version_info.major}.{sys.version_info.minor}"


def uv_env(environment=None):
    """The environment uv runs in: the machine's own Pythons only, and optionally the venv it manages."""
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    if environment is not None:
        env["UV_PROJECT_ENVIRONMENT"] = str(environment)
    return env


def _runs(executable, version):
    probe = subprocess.run([executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True)
    return probe.returncode == 0 and probe.stdout.strip() == version


def find_python(version):
    """An interpreter of `version`: on PATH, else under pyenv; skip (fail under CI=true) when there is none."""
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"), reverse=True)
    for candidate in filter(None, candidates):
        if _runs(candidate, version):
            return candidate
    message = f"Python {version} is not on this machine (PATH or pyenv), so its tests cannot run"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
