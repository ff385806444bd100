"""Run student code where it can see nothing but Python and its own folder.

Every process that runs a student's code (the notebook's kernel, and the children it
forks to answer the tests' calls) runs inside bubblewrap (``bwrap``): new user, PID, network, IPC
and mount namespaces, no capabilities, and a file system made of read-only system and
Python folders plus the student's own folder. The course (solutions, hidden tests,
gradebook), other students' work and the instructor's files are not there at all.
A memory, file-size and CPU-seconds cap applies to each of its processes (``prlimit``; and no
POSIX message queue, which would outlive them), and
its ``/tmp`` is a tmpfs of a given size (by default the memory cap's); the caps on all its processes
together are cgroups' (autograder.cgroups).
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import autograder

BWRAP = "bwrap"
SYSTEM = ("/usr", "/bin", "/lib", "/lib32", "/lib64", "/sbin")
INSTALL = "install it with: sudo apt-get install bubblewrap (or your system's bubblewrap package)"


class ConfinementError(RuntimeError):
    """Student code cannot be confined on this machine."""


def _readable_roots():
    """System and Python folders, read-only; nothing of the course or the instructor's home."""
    roots = [p for p in SYSTEM if os.path.lexists(p)]
    roots += [sys.base_prefix, sys.prefix, str(Path(autograder.__file__).resolve().parent)]
    return list(dict.fromkeys(roots))


def _masked():
    """Installed packages confined code must not use: the debugger (a kernel would import and start it)."""
    spec = importlib.util.find_spec("debugpy")
    return [str(Path(spec.origin).parent)] if spec and spec.origin else []


def environment():
    """The whole environment of confined code: no instructor variables, one BLAS thread."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def command(argv, folder, memory_mb, writable=(), cpu_seconds=None, tmp_mb=None, as_pid_1=False):
    """argv, run confined: only `folder` (its working directory), `writable`, /tmp and /dev/shm can be written.

    With as_pid_1, argv itself is PID 1 of the sandbox (bubblewrap's --as-pid-1), not a child
    of bubblewrap's own init: no process of the sandbox can then trace or stop what runs it.
    """
    if shutil.which(BWRAP) is None:
        raise ConfinementError(f"bubblewrap (bwrap) is needed to confine student code; {INSTALL}")
    cpu = [f"--cpu={cpu_seconds + 2}"] if cpu_seconds else []  # a backstop: cgroups count all processes together
    wrapped = ["prlimit", f"--as={memory_mb * 2**20}", f"--fsize={memory_mb * 2**20}", "--msgqueue=0", *cpu, "--",
               BWRAP, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
               "--uid", "65534", "--gid", "65534", "--clearenv"]
    for name, value in environment().items():
        wrapped += ["--setenv", name, value]
    # mounts apply in order: the private /tmp first, so that folders under /tmp (a venv, a course) stay visible
    tmp = str((tmp_mb or memory_mb) * 2**20)
    wrapped += ["--proc", "/proc", "--dev", "/dev", "--size", tmp, "--tmpfs", "/tmp", "--size", tmp, "--tmpfs", "/dev/shm"]
    for root in _readable_roots():
        if os.path.islink(root):
            wrapped += ["--symlink", os.readlink(root), root]
        else:
            wrapped += ["--ro-bind", root, root]
    for path in _masked():  # an empty folder in its place: ipykernel then runs without a debugger
        wrapped += ["--size", "4096", "--tmpfs", path]
    for path in (folder, *writable):
        wrapped += ["--bind", str(path), str(path)]
    wrapped += ["--remount-ro", "/dev", "--remount-ro", "/"]  # bubblewrap's own tmpfs: nothing written there
    if as_pid_1:
        wrapped.append("--as-pid-1")
    return [*wrapped, "--chdir", str(folder), "--", *argv]


def check(memory_mb=256):
    """Raise ConfinementError, saying what to do, unless confined code can run here."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            result = subprocess.run(command([sys.executable, "-c", "import numpy"], folder, memory_mb),
                                    capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ConfinementError(f"cannot start bubblewrap: {error}") from None
    if result.returncode != 0:
        raise ConfinementError(f"bubblewrap cannot confine student code here ({result.stderr.strip()[-300:]}); "
                               "it needs user namespaces (or root)")
