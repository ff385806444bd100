"""Caps on everything one submission's processes hold together, enforced by Linux cgroups.

Each confined kernel starts in a control group of its own, made directly in the cgroup
file system (the grader runs as root): cgroup v2 where its controllers are enabled, else
the v1 hierarchies of the ``memory``, ``pids`` and ``cpu``/``cpuacct`` controllers. The
group caps, for all the kernel's processes and their threads together, the memory they
use *including* the files they write to tmpfs (the confined ``/tmp``, its folder), the
number of processes and threads, and the CPU to one core; it counts the CPU-seconds used.
Its processes are killed together (v2's ``cgroup.kill``; in v1, each process listed until
none is left) and the group removed when the kernel ends.

Where no group can be made (no root, no such controller), `unavailable` says which cap is
missing and why; the grader still confines code (bubblewrap and rlimits) without it.
"""

import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

MOUNTS = Path("/proc/self/mountinfo")
PARENT = "autograder"  # the groups of all grading runs are made under this one
CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
CPU_PERIOD_US = 100_000  # one core: a quota of one period per period


@dataclass
class Caps:
    """What one submission's processes may hold together."""

    memory_mb: int = 2048
    processes: int = 64
    cpu_seconds: int = 120


def _mounts():
    """controller -> (mount point, version) of the cgroup file systems of this machine."""
    found, unified = {}, None
    for line in MOUNTS.read_text().splitlines():
        fields = line.split()
        separator = fields.index("-")
        kind, options, point = fields[separator + 1], fields[separator + 3].split(","), Path(fields[4])
        if kind == "cgroup":
            for name in CONTROLLERS:
                if name in options:
                    found.setdefault(name, (point, 1))
        elif kind == "cgroup2":
            unified = point
    if unified is not None:
        enabled = (unified / "cgroup.controllers").read_text().split()
        for name in ("memory", "pids", "cpu"):
            if name in enabled:
                found[name] = (unified, 2)
        if "cpu" in enabled:
            found["cpuacct"] = (unified, 2)
    return found


def unavailable():
    """A sentence per cap this machine cannot give, empty when all can be had."""
    if os.geteuid() != 0:
        return ["memory, process and CPU caps per submission need cgroups, and the cap on its folder a tmpfs mount, "
                "which the grader makes when it runs as root: without root each process is capped by rlimits alone "
                "(memory, file size and CPU-seconds per process), its /tmp by its size, and neither its processes "
                "nor the files of its folder are counted together"]
    mounts = _mounts()
    missing = [name for name in ("memory", "pids", "cpuacct") if name not in mounts]
    words = {"memory": "memory (processes and files together)", "pids": "processes and threads",
             "cpuacct": "CPU-seconds in all"}
    return [f"no cgroup {name} controller on this machine: the cap on {words[name]} per submission is not enforced"
            for name in missing]


class Group:
    """One kernel's control group(s): made with its caps, joined by the kernel's command, read, killed, removed."""

    def __init__(self, caps, mounts=None):
        """A group in each controller's hierarchy of `mounts` (controller -> (mount point, version); the machine's)."""
        self.caps, self.paths = caps, {}
        name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        own = _own_groups()
        for controller, (point, version) in (_mounts() if mounts is None else mounts).items():
            if version == 2:  # v2 lets no group with processes of its own hand controllers down: a top group
                parent = point / PARENT
                _enable_v2(point, parent)
            else:  # inside the grader's own group, so that whatever caps the grader caps the kernels too
                parent = point / own.get(controller, "").lstrip("/") / PARENT
            parent.mkdir(exist_ok=True)
            path = parent / name
            path.mkdir(exist_ok=True)
            self.paths[controller] = (path, version)
        self._limit()

    def _write(self, controller, name, value):
        if controller in self.paths:
            (self.paths[controller][0] / name).write_text(str(value))

    def _limit(self):
        memory = self.caps.memory_mb * 2**20
        if self._version("memory") == 2:
            self._write("memory", "memory.max", memory)
            self._write("memory", "memory.swap.max", 0)
        elif "memory" in self.paths:
            self._write("memory", "memory.limit_in_bytes", memory)
            if (self.paths["memory"][0] / "memory.memsw.limit_in_bytes").exists():
                self._write("memory", "memory.memsw.limit_in_bytes", memory)  # no swapping out of the cap
        self._write("pids", "pids.max", self.caps.processes)
        if self._version("cpu") == 2:
            self._write("cpu", "cpu.max", f"{CPU_PERIOD_US} {CPU_PERIOD_US}")
        elif "cpu" in self.paths:
            self._write("cpu", "cpu.cfs_period_us", CPU_PERIOD_US)
            self._write("cpu", "cpu.cfs_quota_us", CPU_PERIOD_US)

    def _version(self, controller):
        return self.paths.get(controller, (None, None))[1]

    def command(self, argv):
        """argv, started inside the group (a shell moves itself into it, then runs argv in its place)."""
        files = sorted({str(path / "cgroup.procs") for path, _ in self.paths.values()})
        if not files:
            return list(argv)
        script = "".join(f'echo $$ > "${i + 1}" && ' for i in range(len(files)))
        return ["/bin/sh", "-c", f'{script}shift {len(files)} && exec "$@"', "sh", *files, *argv]

    def admit(self, pid):
        """Move a running process into the group; what it forks from then on is born in it."""
        for name in sorted({str(path / "cgroup.procs") for path, _ in self.paths.values()}):
            Path(name).write_text(str(pid))

    def _read(self, controller, name):
        try:
            return (self.paths[controller][0] / name).read_text()
        except (KeyError, OSError):
            return ""

    @staticmethod
    def _field(text, key):
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == key:
                return int(parts[1])
        return 0

    def cpu_seconds(self):
        if self._version("cpuacct") == 2:
            return self._field(self._read("cpuacct", "cpu.stat"), "usage_usec") / 1e6
        usage = self._read("cpuacct", "cpuacct.usage").strip()
        return int(usage) / 1e9 if usage else 0.0

    def usage(self):
        """Peak memory (MiB), peak processes, CPU-seconds, and which caps were hit."""
        if self._version("memory") == 2:
            peak = self._read("memory", "memory.peak").strip()
            out_of_memory = self._field(self._read("memory", "memory.events"), "oom_kill") > 0
        else:
            peak = self._read("memory", "memory.max_usage_in_bytes").strip()
            out_of_memory = self._field(self._read("memory", "memory.oom_control"), "oom_kill") > 0
        return {"memory_mb": int(peak) / 2**20 if peak else None,
                "processes": int(self._read("pids", "pids.peak").strip() or 0) or None,
                "cpu_seconds": self.cpu_seconds(),
                "out_of_memory": out_of_memory,
                "out_of_processes": self._field(self._read("pids", "pids.events"), "max") > 0}

    def breaches(self):
        """What the submission's processes did beyond their caps, in an instructor's words."""
        used, said = self.usage(), []
        if used["out_of_memory"]:
            said.append(f"used more than {self.caps.memory_mb} MiB (its processes and files together)")
        if used["out_of_processes"]:
            said.append(f"started more than {self.caps.processes} processes or threads")
        if used["cpu_seconds"] > self.caps.cpu_seconds:
            said.append(f"used more than {self.caps.cpu_seconds} CPU-seconds")
        return said

    def _members(self):
        pids = set()
        for path, _ in self.paths.values():
            try:
                pids.update(int(pid) for pid in (path / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return pids

    def kill(self, wait=2.0):
        """Kill every process in the group, and wait (up to `wait` s) until none is left."""
        for path, version in self.paths.values():
            if version == 2 and (path / "cgroup.kill").exists():
                (path / "cgroup.kill").write_text("1")
        deadline = time.monotonic() + wait
        while (members := self._members()) and time.monotonic() < deadline:
            for pid in members:  # a process forked meanwhile is listed next time; pids.max bounds them
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self):
        """Kill what is left and remove the group."""
        self.kill()
        for path, _ in self.paths.values():
            for _ in range(100):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # its last processes are still being reaped
                    time.sleep(0.01)
        self.paths = {}


def _own_groups():
    """v1 controller -> this process's group in it (/proc/self/cgroup)."""
    groups = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        for name in names.split(","):
            if name:
                groups[name] = path
    return groups


def _enable_v2(point, parent):
    """Have the v2 controllers act in the groups made under parent."""
    wanted = [f"+{name}" for name in ("memory", "pids", "cpu")
              if name in (point / "cgroup.controllers").read_text().split()]
    (point / "cgroup.subtree_control").write_text(" ".join(wanted))
    parent.mkdir(exist_ok=True)
    (parent / "cgroup.subtree_control").write_text(" ".join(wanted))


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def sweep():
    """Kill and remove the groups of grading processes that died without removing them (a killed worker)."""
    if unavailable():
        return
    parents = set()
    own = _own_groups()
    for controller, (point, version) in _mounts().items():
        parents.add(point / PARENT if version == 2 else point / own.get(controller, "").lstrip("/") / PARENT)
    for parent in parents:
        for path in parent.glob("*-*") if parent.is_dir() else ():
            owner = path.name.split("-", 1)[0]
            if path.is_dir() and owner.isdigit() and not alive(int(owner)):
                group = Group.__new__(Group)
                group.caps, group.paths = None, {"left": (path, 2 if (path / "cgroup.kill").exists() else 1)}
                group.remove()

