"""One submission's cgroup: its caps hold for all its processes together, and nothing of it outlives it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import cgroups

pytestmark = pytest.mark.skipif(bool(cgroups.unavailable()), reason="; ".join(cgroups.unavailable()))

FORKS = """
import os, time
started = 0
for _ in range(40):
    try:
        if os.fork() == 0:
            os.setsid()  # a daemon of its own session: still in the group
            time.sleep(120)
            os._exit(0)
        started += 1
    except OSError:
        break
print(started, flush=True)
"""
MEMORY = """
import os, time
for _ in range(4):  # each process under the cap, all of them together over it
    if os.fork() == 0:
        hog = b"x" * (40 * 2**20)
        time.sleep(120)
print("done", flush=True)
time.sleep(2)
"""


def run(group, code, tmp_path):
    """What code prints, run in the group; it returns when its first process ends (its children live on)."""
    with open(tmp_path / "out", "w") as out:
        subprocess.run(group.command([sys.executable, "-c", code]), stdout=out, stderr=subprocess.DEVNULL, timeout=60)
    return (tmp_path / "out").read_text()


def test_processes_are_capped_together_and_killed_together(tmp_path):
    group = cgroups.Group(cgroups.Caps(memory_mb=512, processes=10, cpu_seconds=60))
    try:
        assert int(run(group, FORKS, tmp_path)) < 10, "more processes than the cap"
        members = group._members()
        assert members, "the daemons it started should still be in the group"
        assert group.breaches() == ["started more than 10 processes or threads"]
    finally:
        group.remove()
    assert all(not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
               for pid in members), "a process of the group survived it"
    assert group.paths == {}


def test_memory_is_capped_for_all_processes_together(tmp_path):
    group = cgroups.Group(cgroups.Caps(memory_mb=100, processes=20, cpu_seconds=60))
    try:
        run(group, MEMORY, tmp_path)
        assert group.breaches() == ["used more than 100 MiB (its processes and files together)"]
        assert group.usage()["memory_mb"] <= 100
    finally:
        paths = [path for path, _ in group.paths.values()]
        group.remove()
    assert not any(path.exists() for path in paths)


def test_a_machine_without_root_is_told_which_caps_it_lacks(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    (note,) = cgroups.unavailable()
    assert "need cgroups" in note and "root" in note and "rlimits" in note


def _unified():
    """The mount point of this machine's cgroup v2 hierarchy, or None."""
    for line in open("/proc/self/mountinfo").read().splitlines():
        fields = line.split()
        if fields[fields.index("-") + 1] == "cgroup2":
            return Path(fields[4])
    return None


BURNS_AND_LEAVES = """
import os, time
if os.fork() == 0:
    os.setsid()  # a daemon of its own session
    time.sleep(120)
    os._exit(0)
start = time.process_time()
while time.process_time() - start < 0.5:
    pass
print("done", flush=True)
"""


@pytest.mark.skipif(_unified() is None, reason="no cgroup v2 hierarchy is mounted")
def test_a_v2_group_counts_cpu_seconds_and_kills_with_cgroup_kill(tmp_path):
    """cgroup v2's core files, which need no controller: cgroup.procs, cpu.stat's usage_usec, cgroup.kill.

    On a machine whose memory and pids controllers are bound to v1 hierarchies (as here),
    v2's memory.max and pids.max cannot be had; this is what of v2 can be tried.
    """
    group = cgroups.Group(cgroups.Caps(), mounts={"cpuacct": (_unified(), 2)})
    try:
        assert run(group, BURNS_AND_LEAVES, tmp_path) == "done\n"
        members = group._members()
        assert len(members) == 1, "the daemon it left should be in the group"
        assert 0.5 <= group.cpu_seconds() < 5, group.cpu_seconds()
        group.kill(wait=0)  # cgroup.kill alone, without the signals sent to each member
        deadline = time.monotonic() + 2
        while group._members() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not group._members(), "cgroup.kill left a process of the group"
    finally:
        path = group.paths["cpuacct"][0]
        group.remove()
    assert not path.exists()
