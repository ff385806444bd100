"""Kernels forked from a kernel server: each notebook's kernel as if in a sandbox of its own."""

import os
import signal

import pytest
from jupyter_core.utils import run_sync
from nbformat.v4 import new_code_cell, new_notebook

from autograder import cgroups, trusted
from autograder.forked_kernels import KernelServer
from autograder.trusted import (ConfinedKernelManager, SpareKernel, TrustedExecute, close_started_servers,
                                start_servers, use_spare)

pytestmark = pytest.mark.skipif(bool(cgroups.unavailable()), reason="kernels are forked only where cgroups hold them")

LEAVE_BEHIND = r'''
import ctypes, os, subprocess
from ipykernel import get_connection_file
left = []
def attempt(where, action):
    try:
        action()
        left.append(where)
    except OSError:
        pass
def write(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write("LEFT = 'from the notebook before'\n")
startup = os.path.expanduser("~/.ipython/profile_default/startup/00-left.py")
runtime = os.path.dirname(os.path.dirname(get_connection_file()))
for path in (startup, "/tmp/left.txt", "/dev/shm/left", os.path.join(os.getcwd(), "left.py"),
             os.path.join(os.path.dirname(os.getcwd()), "left"), os.path.join(runtime, "left"),
             "/left", "/dev/left", "/etc/jupyter/jupyter_config.py"):
    attempt(path, lambda: write(path))
libc = ctypes.CDLL(None, use_errno=True)
if libc.shmget(0, 4096, 0o1666) >= 0: left.append("shm")
if libc.msgget(0, 0o1666) >= 0: left.append("msg")
if libc.semget(0, 1, 0o1666) >= 0: left.append("sem")
rt = ctypes.CDLL("librt.so.1", use_errno=True)
if rt.mq_open(b"/left", os.O_CREAT | os.O_RDWR, 0o666, None) >= 0: left.append("mqueue")
subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60"], start_new_session=True)  # a daemon, orphaned at once
print(left)
'''

LOOK_AROUND = r'''
import os
from ipykernel import get_connection_file
mounts = [line.split()[4] for line in open("/proc/self/mountinfo")]
def stray(folder):
    """What folder holds that is not on the way to a mount point."""
    return sorted(name for name in os.listdir(folder)
                  if not any(m == f"{folder}/{name}" or m.startswith(f"{folder}/{name}/") for m in mounts))
own = os.path.dirname(get_connection_file())
startup = os.path.expanduser("~/.ipython/profile_default/startup")
print({"LEFT": "LEFT" in globals(), "tmp": [n for n in stray("/tmp") if n != ".ipython"],  # this kernel's own profile
       "startup": [n for n in os.listdir(startup) if n != "README"] if os.path.isdir(startup) else [], "beside work": stray(os.path.dirname(os.getcwd())),
       "shm": os.listdir("/dev/shm"), "work": os.listdir("."),
       "runtime": [n for n in os.listdir(os.path.dirname(own)) if n != os.path.basename(own)],
       "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid()))})
'''

ATTACK_SERVER = r'''
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
done = []
if libc.ptrace(16, 1, 0, 0) == 0: done.append("traced")  # PTRACE_ATTACH
try:
    open("/proc/1/mem", "rb").read(1)
    done.append("read its memory")
except OSError:
    pass
for signum in (signal.SIGSTOP, signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
    try:
        os.kill(1, signum)
    except OSError:
        pass
print(done)
'''


@pytest.fixture
def server():
    server = KernelServer(memory_mb=1024, disk_mb=64)
    yield server
    server.close()


def run(km, code):
    """What code printed in km's kernel."""
    kc = km.client()
    kc.start_channels()
    try:
        run_sync(kc.wait_for_ready)(timeout=60)
        printed = []
        reply = run_sync(kc.execute_interactive)(code, timeout=60, output_hook=lambda m: printed.append(
            m["content"].get("text", "") if m["msg_type"] == "stream" else ""))
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(printed).strip()
    finally:
        kc.stop_channels()


def kernel(server):
    km = ConfinedKernelManager(server=server, memory_mb=1024, disk_mb=64)
    run_sync(km.start_kernel)()
    return km


def end(km):
    run_sync(km.shutdown_kernel)(now=True)


def test_a_kernel_is_forked_into_a_group_of_its_own(server):
    """The kernel is born in its notebook's cgroup, and the server is not in it."""
    km = kernel(server)
    try:
        assert run(km, "print(1 + 1)") == "2"
        assert km.group._members() == {km.provisioner.process.pid}
        assert server.pid not in km.group._members()
        assert km.group.cpu_seconds() > 0
    finally:
        end(km)


def test_nothing_a_notebook_leaves_reaches_the_next(server):
    """Files in every writable place, IPC objects, an IPython start-up file, a daemon: none is there for the next."""
    first = kernel(server)
    try:
        written = eval(run(first, LEAVE_BEHIND))
    finally:
        end(first)
    assert "/left" not in written and "/dev/left" not in written and "/etc/jupyter/jupyter_config.py" not in written
    assert not {"shm", "msg", "sem", "mqueue"} & set(written), written
    assert len(written) == 6, written  # the startup file, /tmp, /dev/shm, beside and in the work folder, runtime
    second = kernel(server)
    try:
        seen = eval(run(second, LOOK_AROUND))
    finally:
        end(second)
    assert seen == {"LEFT": False, "tmp": [], "startup": [], "beside work": [], "shm": [], "work": [], "runtime": [],
                    "processes": []}, seen


def test_a_kernel_cannot_trace_stop_or_kill_its_server(server):
    """PID 1 of the sandbox, not dumpable: no ptrace, no /proc/1/mem, no signal; the next kernel is forked as usual."""
    first = kernel(server)
    pid = server.pid
    try:
        assert run(first, ATTACK_SERVER) == "[]"
    finally:
        end(first)
    assert server.process.poll() is None and open(f"/proc/{pid}/stat").read().split()[2] != "T"
    second = kernel(server)
    try:
        assert run(second, "print('forked')") == "forked"
        assert server.pid == pid
    finally:
        end(second)


def test_each_kernel_has_its_own_random_state(server):
    """A forked kernel does not draw the numbers of the one before (np.random's global generator, random)."""
    draws = []
    for _ in range(2):
        km = kernel(server)
        try:
            draws.append(run(km, "import numpy as np, random; print(np.random.rand(), random.random())"))
        finally:
            end(km)
    assert draws[0] != draws[1]


def test_a_kernel_collects_its_own_garbage_but_never_visits_the_servers_objects(server):
    """What the server imported is out of every collection (gc.freeze), so that no collection copies the pages a
    kernel shares with it; the kernel's own garbage is collected as usual."""
    km = kernel(server)
    try:
        seen = eval(run(km, "import gc\nclass Loop: pass\nloop = Loop()\nloop.me = loop\ndel loop\n"
                            "print({'enabled': gc.isenabled(), 'frozen': gc.get_freeze_count(), 'found': gc.collect()})"))
    finally:
        end(km)
    assert seen["enabled"] and seen["found"] >= 1, seen
    assert seen["frozen"] > 10_000, seen


def test_a_server_that_died_is_replaced(server):
    """A server killed between notebooks is started again for the next kernel."""
    km = kernel(server)
    end(km)
    before = server.pid
    os.kill(before, signal.SIGKILL)
    server.process.wait()
    km = kernel(server)
    try:
        assert run(km, "print('again')") == "again"
        assert server.pid != before
    finally:
        end(km)


@pytest.mark.parametrize("fork", [True, False])
def test_notebooks_run_in_forked_kernels_unless_told_not_to(fork):
    """TrustedExecute forks kernels from a server by default; with fork_kernels=False each starts on its own."""
    nb = new_notebook(cells=[new_code_cell("print(open('/proc/1/cmdline').read().split('\\0')[:3])")],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    spare = SpareKernel()
    use_spare(spare)
    try:
        TrustedExecute(timeout=30, fork_kernels=fork).preprocess(nb, {})
    finally:
        spare.close_servers()
        use_spare(None)
    first_process = nb.cells[0].outputs[0].text
    assert ("autograder.kernel_server" in first_process) == fork, first_process


def test_servers_started_ahead_are_the_next_spares(tmp_path):
    """A worker's warm-up starts two servers; the next SpareKernel of their sizes forks from them, and those left
    over when a run ends are closed."""
    sizes = (1024, 64)
    start_servers(*sizes)
    start_servers(*sizes)  # a second warm-up adds none
    ahead = list(trusted._started[sizes])
    assert len(ahead) == 2 and all(s.process.poll() is None for s in ahead)
    nb = new_notebook(cells=[new_code_cell("print('from a server started ahead')")],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    spare = SpareKernel()
    use_spare(spare)
    try:
        TrustedExecute(timeout=30, memory_mb=sizes[0], disk_mb=sizes[1]).preprocess(nb, {})
        assert spare.servers == ahead and trusted._started[sizes] == []
    finally:
        spare.close_servers()
        use_spare(None)
    assert nb.cells[0].outputs[0].text == "from a server started ahead\n"
    start_servers(*sizes)
    left = list(trusted._started[sizes])
    close_started_servers()
    assert trusted._started == {} and all(s.process is None for s in left)
