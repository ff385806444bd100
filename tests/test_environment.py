"""uv.lock is the one lock: it agrees with pyproject.toml and sets up .venv exactly, on every supported Python."""

import shutil
import subprocess
import sys
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import ROOT
from pythons import SUPPORTED, UV, uv_env

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = tomllib.loads((ROOT / "uv.lock").read_text())


def uv(*args, cwd=ROOT):
    return subprocess.run([UV, *args], cwd=cwd, env=uv_env(), capture_output=True, text=True)


def test_lock_agrees_with_pyproject():
    check = uv("lock", "--check", "--offline")
    assert check.returncode == 0, f"uv.lock does not match pyproject.toml: run `make lock`\n{check.stderr}"


def test_lock_check_fails_when_pyproject_changes(tmp_path):
    """The check above can fail: a dependency added to pyproject.toml but not locked is caught."""
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        (ROOT / "pyproject.toml").read_text().replace('dependencies = [\n', 'dependencies = [\n    "six>=1.16",\n', 1))
    # Not --offline: to see that the edited pyproject.toml needs another lock, uv resolves it anew, which needs the
    # registry's index pages; a machine whose uv cache has only the locked wheels (a fresh `make venv`) has none.
    check = uv("lock", "--check", cwd=tmp_path)
    assert check.returncode != 0 and "needs to be updated" in check.stderr, check.stderr


def test_supported_pythons_are_the_locked_range():
    """requires-python, the lock and the tests name the same Python versions."""
    assert PYPROJECT["project"]["requires-python"] == LOCK["requires-python"].replace(" ", "")
    lowest, highest = SUPPORTED[0], SUPPORTED[-1]
    assert PYPROJECT["project"]["requires-python"] == f">={lowest},<3.{int(highest.split('.')[1]) + 1}"


def test_venv_is_exactly_the_lock():
    """The environment the tests run in is the lock's: nothing missing, nothing extra, no other version."""
    check = subprocess.run([UV, "sync", "--locked", "--check", "--offline", "--python", sys.executable],
                           cwd=ROOT, env=uv_env(sys.prefix), capture_output=True, text=True)
    assert check.returncode == 0, f"{sys.prefix} differs from uv.lock:\n{check.stderr}"


def test_every_binary_package_has_wheels_for_every_supported_python():
    """No supported Python compiles a locked package from source on Linux: each has a wheel for it."""
    missing = []
    for version in SUPPORTED:
        python = {"python_version": version, "python_full_version": f"{version}.99", "sys_platform": "linux",
                  "os_name": "posix", "platform_system": "Linux", "platform_machine": "x86_64"}
        tag = "cp" + version.replace(".", "")
        for name, pinned in _needed(python):
            wheels = [w["url"].rsplit("/", 1)[1] for w in LOCKED[name, pinned].get("wheels", [])]
            if not any(_fits(wheel, tag) for wheel in wheels):
                missing.append(f"{name} {pinned} ({tag})")
    assert not missing, f"locked packages without a Linux wheel: {missing}"


LOCKED = {(p["name"], p["version"]): p for p in LOCK["package"]}


def _needed(python):
    """(name, version) of every locked package installed on this platform and Python."""
    export = uv("export", "--frozen", "--no-hashes", "--no-emit-project", "--offline")
    assert export.returncode == 0, export.stderr
    for requirement in map(Requirement, (l for l in export.stdout.splitlines() if l.strip() and not l.lstrip().startswith("#"))):
        if requirement.marker is None or requirement.marker.evaluate(python):
            yield canonicalize_name(requirement.name), str(next(iter(requirement.specifier)).version)


def _fits(wheel, tag):
    _, _, python_tag, abi, platform = wheel[:-len(".whl")].rsplit("-", 4)
    if platform != "any" and not ("manylinux" in platform and "x86_64" in platform):
        return False
    return abi == "abi3" or any(t == tag or t.startswith("py3") for t in python_tag.split("."))
