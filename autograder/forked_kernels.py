"""Kernels forked from a confined, pre-imported Python (autograder.kernel_server), one notebook at a time.

Starting Python and importing ipykernel and NumPy is most of what a kernel's start costs.
A `KernelServer` does it once: a sandbox (autograder.confine, the server as its PID 1) that
forks a kernel per request, in no time. Each kernel is born in its notebook's own cgroup
(the grader moves the server into it for the fork), so the caps, the CPU count and the kill
of autograder.cgroups are the kernel's alone, as for a kernel started on its own.

A server hosts one notebook at a time. When a notebook's kernel ends, its group is killed
(every process it started goes with it) and `wipe` removes what it left in the sandbox: the
files of its work folder, runtime folder, /tmp and /dev/shm (the only places it can write;
the rest is read-only) and its System V IPC objects and POSIX message queues, so that the
next notebook's kernel starts as in a fresh sandbox. A server that dies, or does not answer,
is replaced by a new one.

`ForkedProvisioner` is how jupyter_client launches such a kernel (its provisioner API);
`ForkedProcess` stands for the kernel process, which is the server's child, not the grader's.
"""

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from jupyter_client.provisioning import LocalProvisioner

from autograder import cgroups, confine

WORK_MOUNT = "autograder-work-"  # the source name of a work folder's tmpfs, then the grading process's id
ANSWER_SECONDS = 30  # a server that takes longer to start or to fork is replaced
SERVER_PROCESSES = 8  # the server's own group: bubblewrap, the server, a fork on its way


class ServerError(RuntimeError):
    """The kernel server did not answer."""


def _read_line(process, timeout):
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline() if ready else ""
    if not line:
        raise ServerError("the kernel server did not answer")
    return line.strip()


class KernelServer:
    """One sandbox with a Python ready to become a kernel; `fork` gives one kernel at a time."""

    def __init__(self, memory_mb, disk_mb):
        self.memory_mb, self.disk_mb = memory_mb, disk_mb
        self.root = Path(tempfile.mkdtemp(prefix="kernel-server-"))
        self.work, self.runtime = self.root / "work", self.root / "runtime"
        self.work.mkdir()
        self.runtime.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={disk_mb}m,mode=0700", f"{WORK_MOUNT}{os.getpid()}",
                        str(self.work)], check=True)
        self.process = self.group = None

    def _start(self):
        self.group = cgroups.Group(cgroups.Caps(self.memory_mb, SERVER_PROCESSES, 3600))
        argv = confine.command([sys.executable, "-m", "autograder.kernel_server"], self.work, self.memory_mb,
                               writable=[self.runtime], tmp_mb=self.disk_mb, as_pid_1=True)
        self.process = subprocess.Popen(self.group.command(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=confine.environment(), text=True)
        try:
            if _read_line(self.process, ANSWER_SECONDS) != "ready":
                raise ServerError("the kernel server did not start")
            self.pid = self._server_pid()
            # no System V IPC object can be made in its IPC namespace (these limits are the namespace's own,
            # ipc_namespaces(7)), nor outlive a notebook; POSIX message queues have RLIMIT_MSGQUEUE 0 (confine)
            subprocess.run(["nsenter", f"--target={self.pid}", "--ipc", "--", "sh", "-c",
                            "echo 0 > /proc/sys/kernel/shmmni && echo 0 > /proc/sys/kernel/msgmni && "
                            "echo '0 0 0 0' > /proc/sys/kernel/sem"], check=True, capture_output=True)
        except Exception:
            self._stop()
            raise

    def _server_pid(self):
        """The server's process ID here: the member of its group that is PID 1 of its own namespace."""
        for pid in self.group._members():
            spaces = _namespace_pids(pid)
            if len(spaces) > 1 and spaces[-1] == 1:
                return pid
        raise ServerError("the kernel server is not running")

    def _stop(self):
        if self.group is not None:
            self.group.remove()
        if self.process is not None:
            self.process.wait()
            self.process.stdin.close()
            self.process.stdout.close()
        self.process = self.group = None

    def start(self):
        """Have the server running (a new one if it has ended); forking starts it too."""
        if self.process is None or self.process.poll() is not None:
            self._stop()
            self._start()

    def fork(self, argv, group, cpu_seconds=None):
        """A kernel (argv: ipykernel_launcher's), born in `group`, working in self.work; its ForkedProcess."""
        self.start()
        request = json.dumps({"argv": argv, "cwd": str(self.work), "cpu_seconds": cpu_seconds})
        try:
            if group is not None:
                group.admit(self.pid)
            try:
                self.process.stdin.write(request + "\n")
                self.process.stdin.flush()
                inner = int(_read_line(self.process, ANSWER_SECONDS))
            finally:
                if group is not None:
                    self.group.admit(self.pid)
        except (OSError, ValueError, ServerError):
            self._stop()  # the next fork starts a new server
            raise ServerError("the kernel server did not fork a kernel") from None
        for pid in _children(self.pid):
            if _namespace_pids(pid)[-1:] == [inner]:
                kernel = ForkedProcess(pid)
                if pid in _children(self.pid):  # still the server's child, now that its pidfd holds it
                    return kernel
                kernel.close()
        return ForkedProcess(None)  # it ended at once

    def wipe(self):
        """Remove what a notebook's kernel left; its processes must have ended (its group killed)."""
        if self.process is None or self.process.poll() is not None:
            self._stop()
            return
        for folder in (self.work, self.runtime):
            _empty(folder)
        mounts = _mount_points(self.pid)  # the bind mounts under its /tmp (the work folder, a venv in /tmp) stay
        for inside in ("/tmp", "/dev/shm"):
            _empty(f"/proc/{self.pid}/root{inside}", inside, mounts)

    def close(self):
        self._stop()
        subprocess.run(["umount", "--lazy", str(self.work)], check=False, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.root, ignore_errors=True)


def _empty(folder, inside="", mounts=frozenset()):
    """Remove what folder holds but the mount points in it (`mounts`, paths in the sandbox, where folder is
    `inside`) and the folders on the way to them: removing a mount point of another mount namespace
    detaches its mount (Linux 3.18 and later), and the sandbox would lose its folder."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        path = f"{inside}/{entry.name}"
        if path in mounts:
            continue
        if any(mount.startswith(path + "/") for mount in mounts):
            if entry.is_dir(follow_symlinks=False):
                _empty(entry.path, path, mounts)
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except OSError:
                pass


def _mount_points(pid):
    """The mount points of the process's mount namespace, as paths in it (mountinfo's fifth field, unescaped)."""
    points = set()
    for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        point = line.split()[4]
        points.add(re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), point))
    return frozenset(points)


def _namespace_pids(pid):
    """The process's ID in each PID namespace it is in, outermost first (NSpid of /proc/PID/status)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return [int(value) for value in line.split()[1:]]
    except OSError:
        pass
    return []


def _children(pid):
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class ForkedProcess:
    """What jupyter_client's provisioner needs of a Popen, for a kernel that is the server's child (a pidfd)."""

    stdin = stdout = stderr = None
    UNKNOWN = -1  # its exit status goes to its parent, the server

    def __init__(self, pid):
        self.pid, self.returncode, self.fd, self._lock = pid, None, None, threading.Lock()
        try:
            self.fd = os.pidfd_open(pid) if pid is not None else None
        except ProcessLookupError:
            pass
        if self.fd is None:
            self.returncode = self.UNKNOWN

    def poll(self):
        with self._lock:  # the watchdog's thread may end it too
            if self.returncode is None and select.select([self.fd], [], [], 0)[0]:
                self._close()
            return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.01)
        return self.returncode

    def _close(self):
        if self.fd is not None:
            os.close(self.fd)
        self.fd, self.returncode = None, self.UNKNOWN

    def close(self):
        """Let go of the process: it counts as ended."""
        with self._lock:
            self._close()

    def send_signal(self, signum):
        with self._lock:
            if self.returncode is None:
                try:
                    signal.pidfd_send_signal(self.fd, signum)
                except ProcessLookupError:
                    pass

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class ForkedProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, but the kernel is forked by its manager's KernelServer."""

    async def launch_kernel(self, cmd, **kwargs):
        km = self.parent
        self.process = km.server.fork(cmd, km.group, km.cpu_seconds + 2)  # + 2: the backstop of confine.command
        self.pid, self.pgid, self.cwd = self.process.pid, None, str(km.work)  # no group: the server's is not its own
        return self.connection_info


def forkable(argv):
    """Whether a kernel command is ipykernel's, which a KernelServer can fork."""
    return len(argv) >= 3 and argv[1:3] == ["-m", "ipykernel_launcher"]
