"""nbgrader's Execute, with the tests decided where student code cannot reach them.

The notebook runs in the student's kernel as usual, but confined (autograder.confine)
and with its test cells emptied, so hidden tests never enter a process the student's
code controls. Each test cell is then run in the grading process, against the course's
own checks, calling the student's functions in a process forked from that kernel
(autograder.sandbox), which hands back only plain data.
Its outcome becomes the cell's output, which nbgrader's SaveAutoGrades scores as usual:
no output is full marks, an error is zero. Each notebook gets a kernel of its own, started
while the notebook before it was graded (SpareKernel).

What a notebook may cost is bounded from outside it: at its submission timeout a watchdog
kills every process of its kernel, whatever they do; a cell that ignores the interrupt
at its timeout gets a new kernel, which runs the cells before it again; a function a cell's
timeout interrupted fails at once in later cells and checks (autograder.sandbox). No message
of the kernel larger than TrustedExecute.message_bytes reaches the grading process: ZeroMQ
drops the connection that carries one (ConfinedKernelClient), and the cell that sent it is
treated as a cell that ignored its interrupt.
"""

import asyncio
import atexit
import builtins
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
import weakref
from contextlib import contextmanager
from queue import Empty

import numpy as np
import zmq
import zmq.asyncio
from jupyter_client import AsyncKernelManager
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellControlSignal, CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Any, Bool, Float, Integer, Type, Unicode, default
from zmq.utils.monitor import parse_monitor_message

from autograder import cgroups, confine, dropout_checks, phases
from autograder.forked_kernels import WORK_MOUNT, ForkedProvisioner, KernelServer, forkable
from autograder.outputs import OutputBudget, Renderings, coalesce, describe, is_too_large_mark, too_large_mark
from autograder.sandbox import Sandbox
from autograder.translation import language_of

TRUSTED = {"np": np, **{name: getattr(dropout_checks, name) for name in dir(dropout_checks) if not name.startswith("_")}}


def is_test(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def run_test(source, sandbox):
    """Run one test cell's code with the trusted checks; return its outputs (none when it passes)."""
    code = compile(source, "test", "exec")
    namespace = dict(TRUSTED)
    for name in code.co_names:
        if name not in namespace and not hasattr(builtins, name):
            namespace[name] = sandbox.function(name)
    try:
        exec(code, namespace)
    except Exception as error:  # noqa: BLE001 - a failed check, whatever its kind
        return [new_output("error", ename=type(error).__name__, evalue=str(error),
                           traceback=[f"{type(error).__name__}: {error}"])]
    return []


@functools.cache
def _sweep_once():
    """Once per process: what grading processes that were killed left (mounted folders, cgroups) is removed."""
    for line in open("/proc/mounts").read().splitlines():
        source, point = line.split()[:2]
        owner = source[len(WORK_MOUNT):]
        if source.startswith(WORK_MOUNT) and owner.isdigit() and not cgroups.alive(int(owner)):
            subprocess.run(["umount", "--lazy", point], check=False, stderr=subprocess.DEVNULL)  # gone already: fine
            shutil.rmtree(os.path.dirname(point), ignore_errors=True)
    cgroups.sweep()


def _capped_context(max_message):
    """A ZeroMQ context whose sockets refuse any message over max_message bytes.

    With ZMQ_MAXMSGSIZE (libzmq's zmq_setsockopt(3)) a peer that sends a larger message is
    disconnected as it starts sending it: the message is never held in this process. pyzmq
    applies a context's socket options to each socket it makes, before jupyter_client connects it.
    """
    context = zmq.asyncio.Context()
    context.setsockopt(zmq.MAXMSGSIZE, max_message)
    return context


MAX_MESSAGE = 32 * 2**20  # bytes one message of a student's kernel may have, by default
WATCHED = ("iopub", "shell", "stdin", "control")  # the channels read in this thread (not the heartbeat's own)
IOPUB_SECONDS = 0.2  # a kernel_info request's IOPub messages not seen by then: asked again (as jupyter_client)
RECONNECT_SECONDS = 0.5  # libzmq retries a connection the kernel closed at once; one it dropped, never


class ConfinedKernelClient(AsyncKernelClient):
    """jupyter_client's client, on sockets that refuse messages over max_message bytes; `dropped` tells when one did."""

    max_message = Integer(MAX_MESSAGE, help="Bytes one message of the kernel may have.")

    @default("context")
    def _context_default(self):
        self._created_context = True  # jupyter_client's own flag: stop_channels destroys the context
        return _capped_context(self.max_message)

    def start_channels(self, *args, **kwargs):
        super().start_channels(*args, **kwargs)
        self._monitors, self._lost = {}, {}
        for name in WATCHED:
            address = f"inproc://connection-{id(self)}-{name}"
            getattr(self, f"{name}_channel").socket.monitor(address, zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECT_RETRIED)
            monitor = self.context.socket(zmq.PAIR)  # closed with the context
            monitor.connect(address)
            self._monitors[name] = (monitor, zmq.Socket.shadow(monitor.underlying))  # read without the event loop

    async def wait_for_ready(self, timeout=None):
        """Return when the kernel has answered a kernel_info request on shell and on IOPub, as jupyter_client waits.

        jupyter_client (8.x, `KernelClient._async_wait_for_ready`) then reads IOPub until it is
        silent for 0.2 s, so every kernel's start waits at least 0.2 s for nothing: a fifth of a
        second per notebook, the cores idle. Here IOPub is read up to the `idle` status of the
        request answered, the last message the kernel sends for it; nbclient ignores the messages
        of any other request. A reply or status that does not come is asked for again, as upstream.
        """
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            request = self.kernel_info()
            reply = await self._message(self.shell_channel, request, 1.0)
            if reply is not None and await self._message(self.iopub_channel, request, IOPUB_SECONDS, "idle"):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    @staticmethod
    async def _message(channel, request, seconds, state=None):
        """The channel's next message for request (a status `state` on IOPub), others dropped; None after seconds."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await channel.get_msg(timeout=left)
            except Empty:
                return None
            if msg["parent_header"].get("msg_id") == request and (
                    state is None or msg["msg_type"] == "status" and msg["content"].get("execution_state") == state):
                return msg
        return None

    def dropped(self):
        """The channels whose connection ZeroMQ dropped for good: the kernel sent one over max_message bytes.

        A kernel that ends or restarts closes its sockets and libzmq connects again at once
        (EVENT_CONNECT_RETRIED right after EVENT_DISCONNECTED); a connection it refused for a
        message too large (or bytes that are not ZMTP) it never retries.
        """
        now = time.monotonic()
        for name, (_, monitor) in getattr(self, "_monitors", {}).items():
            while True:
                try:
                    event = parse_monitor_message(monitor.recv_multipart(zmq.NOBLOCK))["event"]
                except zmq.Again:
                    break
                if event == zmq.EVENT_DISCONNECTED:
                    self._lost.setdefault(name, now)
                else:
                    self._lost.pop(name, None)
        return [name for name, since in self._lost.items() if now - since > RECONNECT_SECONDS]

    async def dropped_for_good(self):
        """`dropped`, once each disconnection seen has been retried or has lasted RECONNECT_SECONDS."""
        while not (found := self.dropped()) and self._lost:
            await asyncio.sleep(0.02)
        return found


class ConfinedKernelManager(AsyncKernelManager):
    """A kernel started confined (autograder.confine), in a cgroup of its own when there can be one
    (autograder.cgroups); it talks over Unix sockets in a folder of its own."""

    memory_mb = Integer(2048, help="Memory cap of the kernel's processes and files together, in MiB.").tag(config=True)
    processes = Integer(64, help="Cap on the kernel's processes and threads together.").tag(config=True)
    cpu_seconds = Integer(120, help="CPU-seconds the kernel's processes may use together.").tag(config=True)
    disk_mb = Integer(256, help="MiB its /tmp may hold, and its work folder (a tmpfs of that size, as root).").tag(
        config=True)
    runtime = Unicode("", help="Folder of the connection file and the kernel's sockets.")
    work = Unicode("", help="The kernel's working folder: the start's cwd, else work/ in its runtime folder.")
    max_message = Integer(MAX_MESSAGE, help="Bytes one message of the kernel may have (ConfinedKernelClient).")
    server = Any(None, help="A KernelServer to fork the kernel from (autograder.forked_kernels); else one is "
                            "started confined on its own.")
    client_factory = Type(ConfinedKernelClient)

    @default("context")
    def _context_default(self):  # the manager's own control socket: nothing larger is held there either
        self._created_context = True
        return _capped_context(self.max_message)

    def client(self, **kwargs):
        return super().client(max_message=self.max_message, **kwargs)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"  # no network inside the sandbox: the kernel listens on Unix sockets
        self.group = self.mounted = None

    async def _async_pre_start_kernel(self, **kw):
        if not self.runtime:  # else a restart: the same folders, sockets and group
            _sweep_once()
            if self.server is not None and (kw.get("cwd") or not forkable(self.kernel_spec.argv)):
                self.server = None
            if self.server is not None:  # the server's folders, emptied when the kernel ends
                self.runtime = tempfile.mkdtemp(prefix="kernel-", dir=self.server.runtime)
                self.work = str(self.server.work)
            else:
                self.runtime = tempfile.mkdtemp(prefix="kernel-")
                self.work = kw.get("cwd") or os.path.join(self.runtime, "work")  # its working folder, writable
                os.makedirs(self.work, exist_ok=True)
            self.connection_file = os.path.join(self.runtime, "kernel.json")
            self.ip = os.path.join(self.runtime, "ipc")
            if self.server is None and not kw.get("cwd") and os.geteuid() == 0:  # its files count towards its
                subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.disk_mb}m,mode=0700",  # memory
                                f"{WORK_MOUNT}{os.getpid()}", self.work], check=True)
                self.mounted = self.work
            if not cgroups.unavailable():
                self.group = cgroups.Group(cgroups.Caps(self.memory_mb, self.processes, self.cpu_seconds))
            self.kernel_spec.interrupt_mode = "message"  # a signal cannot cross into the sandbox; a message can
            if self.server is not None:
                self.kernel_id = self.kernel_id or str(uuid.uuid4())
                self.provisioner = ForkedProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                     parent=self)
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        if self.server is not None:
            return cmd, kw  # forked by the server, in its sandbox, born in self.group
        cmd = confine.command(cmd, self.work, self.memory_mb, writable=[self.runtime], cpu_seconds=self.cpu_seconds,
                              tmp_mb=self.disk_mb)
        if self.group is not None:
            cmd = self.group.command(cmd)
        kw.update(env=confine.environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return cmd, kw

    async def _async_cleanup_resources(self, restart=False):
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            if self.group is not None:
                self.group.kill()
            if self.runtime and not restart:
                if self.group is not None:
                    self.group.remove()
                if self.server is not None:
                    self.server.wipe()
                if self.mounted:
                    subprocess.run(["umount", "--lazy", self.mounted], check=False, stderr=subprocess.DEVNULL)
                shutil.rmtree(self.runtime, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources  # jupyter_client binds its public name to its own function

    def kill_now(self):
        """Kill the kernel and every process it started (its PID namespace ends with it, its cgroup); any thread."""
        process = getattr(self.provisioner, "process", None)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
        if self.group is not None:
            self.group.kill()

    def usage(self):
        """Peak memory and processes, CPU-seconds, and the caps the kernel's processes hit (none without a group)."""
        return (self.group.usage(), self.group.breaches()) if self.group is not None else ({}, [])

    async def _async_wait(self, pollinterval=0.01):
        """Wait for the kernel's end, looking every 10 ms (jupyter_client: 100 ms); grading waits for it."""
        await super()._async_wait(pollinterval=pollinterval)


class SpareKernel:
    """One confined kernel started a notebook ahead, so the next notebook need not wait for it to start.

    Where cgroups can hold each kernel's processes (autograder.cgroups), kernels are forked
    from two KernelServers in turn (autograder.forked_kernels): the spare never shares a
    sandbox with the kernel of the notebook being graded, and each server is emptied when
    its notebook's kernel ends. Elsewhere each kernel starts confined on its own, in a work
    folder of its own (``work/`` in its runtime folder). The files of the notebook a kernel
    is given are copied into its work folder. Each kernel serves one notebook only, and each
    SpareKernel one grading thread (`use_spare`), which grades one notebook at a time.
    """

    def __init__(self):
        self.key = self.km = self.sizes = None
        self.servers = []
        _all_spares.add(self)

    def take(self, key, start, folder, sizes=None):
        """A kernel that start(server) started for key, with folder's files in its work folder; start the next one.

        sizes: (memory_mb, disk_mb) of the KernelServers to fork kernels from.
        """
        km = self.km if self.key == key and run_sync(self.km.is_alive)() else None
        if km is None:
            self.discard()
            km = start(self._server(sizes, None))
        self.key, self.km = key, start(self._server(sizes, km))
        if folder:
            shutil.copytree(folder, km.work, symlinks=True, dirs_exist_ok=True)
        return km

    def _server(self, sizes, busy):
        """The server, of the two, that does not host busy's notebook; None where kernels start on their own."""
        if sizes is None or cgroups.unavailable():
            return None
        if sizes != self.sizes:
            self.close_servers()
            self.sizes, self.servers = sizes, _started_servers(sizes) or [KernelServer(*sizes), KernelServer(*sizes)]
        return self.servers[1] if getattr(busy, "server", None) is self.servers[0] else self.servers[0]

    def discard(self):
        if self.km is not None:
            run_sync(self.km.shutdown_kernel)(now=True)
        self.key = self.km = None

    def close_servers(self):
        """The spare, then the servers, ended."""
        self.discard()
        for server in self.servers:
            server.close()
        self.sizes, self.servers = None, []


_all_spares = weakref.WeakSet()
_thread = threading.local()
_started = {}  # sizes -> two KernelServers started ahead of any notebook (start_servers), for a SpareKernel to take
_started_lock = threading.Lock()


def start_servers(memory_mb, disk_mb):
    """Start now the two KernelServers that this process's next SpareKernel for these sizes takes (a worker's
    warm-up, while the course is made); nothing where kernels are not forked (no cgroups)."""
    if cgroups.unavailable():
        return
    sizes = (memory_mb, disk_mb)
    with _started_lock:
        missing = 2 - len(_started.get(sizes, []))
    servers = [KernelServer(*sizes) for _ in range(missing)]
    try:
        for server in servers:  # running before another thread can take them
            server.start()
    except Exception:
        for server in servers:
            server.close()
        raise
    with _started_lock:
        _started.setdefault(sizes, []).extend(servers)


def _started_servers(sizes):
    """Two servers started ahead for these sizes, or None."""
    with _started_lock:
        servers = _started.get(sizes, [])
        if len(servers) < 2:
            return None
        taken, _started[sizes] = servers[:2], servers[2:]
        return taken


def close_started_servers():
    """End the servers started ahead that no SpareKernel took."""
    with _started_lock:
        left = [server for servers in _started.values() for server in servers]
        _started.clear()
    for server in left:
        server.close()


@atexit.register
def _close_all_servers():
    for spare in list(_all_spares):
        spare.close_servers()
    close_started_servers()


def use_spare(spare):
    """Have notebooks graded in this thread take their kernels from spare."""
    _thread.spare = spare


def _spare():
    if getattr(_thread, "spare", None) is None:
        use_spare(SpareKernel())
    return _thread.spare


class SubmissionTimeout(Exception):
    """The notebook used up its time (TrustedExecute.submission_timeout)."""


class Outcome:
    """What grading a notebook met that the grader, not nbgrader, knows: set in the grading thread."""

    def __init__(self):
        self.expired = False  # the watchdog killed the kernel at the submission timeout
        self.usage = {}  # peak memory and processes, CPU-seconds of the kernel (autograder.cgroups)
        self.breaches = []  # the caps its processes hit, in an instructor's words


def outcome():
    """The Outcome of the last notebook graded in this thread."""
    return getattr(_thread, "outcome", None) or Outcome()


def _timed_out(cell):
    return any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", []))


def _stopped(cell):
    """The cell's kernel was restarted in it (it ignored its interrupt, or sent too much at once): not run again."""
    return _timed_out(cell) or any(is_too_large_mark(o) for o in cell.get("outputs", []))


IGNORED = ("the cell ran longer than {seconds} s and did not stop when interrupted: its kernel was restarted and the "
           "cells before it run again")


KERNEL_ARGUMENTS = ["--HistoryManager.enabled=False"]  # a kernel used once keeps no input history (an SQLite
# file written by a thread of its own, a tenth of the CPU its cells take)


class TrustedExecute(Execute):
    """Execute the notebook confined and without its tests, then decide every test outside the student's reach."""

    memory_mb = Integer(2048, help="Memory cap of the student's kernel, in MiB.").tag(config=True)
    processes = Integer(64, help="Cap on the processes and threads of the student's kernel.").tag(config=True)
    cpu_seconds = Integer(120, help="CPU-seconds the student's kernel may use.").tag(config=True)
    disk_mb = Integer(256, help="MiB the kernel's work folder may hold.").tag(config=True)
    submission_timeout = Integer(300, help="Seconds one notebook may take, cells and tests together.").tag(config=True)
    output_bytes = Integer(2**20, help="Bytes of output each cell keeps; the rest is cut (autograder.outputs).").tag(
        config=True)
    notebook_output_bytes = Integer(help="Bytes of output all cells keep together (twice output_bytes); the rest "
                                         "is cut, so that nbgrader and the feedback page have little to do.").tag(
        config=True)
    post_seconds_per_mib = Float(2.0, help="Seconds per MiB of output kept that nbgrader's processing after the run "
                                           "and the feedback page may take, at worst (ANSI-coloured text, Markdown: "
                                           "benchmarks/hostile_batch.py); reserved out of the submission timeout.").tag(
        config=True)
    message_bytes = Integer(MAX_MESSAGE, help="Bytes one message of the kernel may have: a cell that sends more "
                                             "gets a new kernel, as one that ignores its interrupt.").tag(config=True)
    fork_kernels = Bool(True, help="Fork each kernel from a pre-imported Python in a sandbox of its own "
                                   "(autograder.forked_kernels), where cgroups can hold its processes.").tag(config=True)

    @default("notebook_output_bytes")
    def _notebook_output_bytes_default(self):
        return 2 * self.output_bytes

    def __init__(self, **kwargs):
        kwargs.setdefault("kernel_manager_class", ConfinedKernelManager)
        kwargs.setdefault("shutdown_kernel", "immediate")  # the kernel's state is of no further use
        kwargs["coalesce_streams"] = False  # nbclient's is quadratic in a line's length; coalesced here instead
        super().__init__(**kwargs)
        self.budget = OutputBudget(self.output_bytes, self.notebook_output_bytes)
        self.renderings = Renderings()

    def process_message(self, msg, cell, cell_index):
        """nbclient's handling of a kernel message, for no more output than the cell's budget."""
        if not self.budget.admit(msg, cell_index):
            return None
        try:
            return super().process_message(msg, cell, cell_index)
        except CellControlSignal:
            raise
        except (KeyError, TypeError, ValueError, AttributeError):  # a malformed message from a tampered kernel
            return None

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        """nbclient's cell execution, and what a timeout needs; then streams coalesced and a cut marked."""
        self.cell_index = cell_index
        try:
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except DeadKernelError:
            if self.drops != [cell_index]:
                raise  # the kernel died of itself, or sent too much again: the notebook cannot be graded
            await self._cut_too_large(cell, cell_index)
        except CellTimeoutError:  # interrupted at its timeout, and IOPub's idle not seen after it
            if await self._dropped_unseen(cell_index):  # it was sent, but its connection had been dropped
                await self._cut_too_large(cell, cell_index)
            else:  # still busy: its code ignores the interrupt
                ignored = IGNORED.format(seconds=self.timeout)
                cell.outputs.append(new_output("error", ename="CellTimeoutError", evalue=ignored,
                                               traceback=[f"CellTimeoutError: {ignored}"]))
                await self._restart(cell_index)
        else:
            if cell.cell_type != "code":
                return cell
            if await self._dropped_unseen(cell_index):
                await self._cut_too_large(cell, cell_index)
            elif _timed_out(cell):
                await self._run_quietly("__import__('autograder.sandbox').sandbox.give_up_interrupted("
                                        f"globals(), {self.timeout})")
        cell.outputs = self.renderings.tame(coalesce(cell.outputs))
        mark = self.budget.mark(cell_index)
        if mark is not None:
            cell.outputs.append(mark)
        return cell

    execute_cell = run_sync(async_execute_cell)  # nbclient binds its public name to its own function

    async def _dropped_unseen(self, cell_index):
        """Whether the kernel sent a message too large that the watch for a dead kernel did not see.

        nbclient stops that watch at a cell's timeout (`_async_poll_for_reply`), and waits for
        IOPub's idle: the cell's code may send one over message_bytes meanwhile, and its idle is
        lost with the connection dropped.
        """
        if self.kc is self.dropped_client or not await self.kc.dropped_for_good():
            return False
        self._note_drop(cell_index)
        if self.drops != [cell_index]:
            raise DeadKernelError("Kernel died")  # it sent too much again: the notebook cannot be graded
        return True

    def _note_drop(self, cell_index):
        """The current client's connection was dropped, in cell cell_index: it is not looked at again."""
        self.dropped_client = self.kc
        self.drops.append(cell_index)

    async def _cut_too_large(self, cell, cell_index):
        """The cell's mark of a message over message_bytes, and a new kernel for the cells after it."""
        self.budget.cut.discard(cell_index)  # its own mark says more
        cell.outputs.append(too_large_mark(self.message_bytes))
        await self._restart(cell_index)

    async def _run_quietly(self, code, cell=None):
        """Run code in the kernel, its outputs unrecorded; wait for it as for a cell."""
        msg_id = await ensure_async(self.kc.execute(code, silent=cell is None, store_history=cell is not None,
                                                    stop_on_error=False))
        await self.async_wait_for_reply(msg_id, cell)

    async def _restart(self, index):
        """A new kernel and client, in which the cells before index run again (but those stopped in the same way).

        A new client, as ZeroMQ never connects again a socket whose connection it dropped
        (a message over message_bytes, perhaps not yet seen by ConfinedKernelClient.dropped).
        """
        await ensure_async(self.km.restart_kernel(now=True))
        await ensure_async(self.kc.stop_channels())
        self.kc = self.km.client()
        await ensure_async(self.kc.start_channels())
        self.kc.allow_stdin = False
        try:
            await ensure_async(self.kc.wait_for_ready(timeout=self.startup_timeout))
        except RuntimeError:  # the new kernel does not answer either
            raise DeadKernelError("Kernel died") from None
        for before in self.nb.cells[:index]:
            self._check_deadline()
            if before.cell_type == "code" and before.source.strip() and not _stopped(before):
                await self._run_quietly(before.source, before)

    def _start_kernel(self, server=None):
        name = {"kernel_name": self.kernel_name} if self.kernel_name else {}  # else the manager's default
        km = self.kernel_manager_class(config=self.config, memory_mb=self.memory_mb, processes=self.processes,
                                       cpu_seconds=self.cpu_seconds, disk_mb=self.disk_mb,
                                       max_message=self.message_bytes, server=server, **name)
        run_sync(km.start_kernel)(extra_arguments=[*KERNEL_ARGUMENTS, *self.extra_arguments])
        return km

    async def _async_poll_kernel_alive(self):
        """nbclient's watch for a dead kernel, every 20 ms (nbclient: every second, idle for a crash); a kernel
        that sent a message too large (ConfinedKernelClient.dropped) is ended, so the cell sees it dead."""
        while True:
            await asyncio.sleep(0.02)
            if self.kc is not self.dropped_client and self.kc.dropped():
                self._note_drop(self.cell_index)
                self.km.kill_now()
            try:
                await self._async_check_alive()
            except DeadKernelError:
                self.task_poll_for_reply.cancel()
                return

    def _past_deadline(self):
        """Past the submission timeout, less the time its kept output will take nbgrader and the feedback page."""
        return time.monotonic() > self.deadline - self.post_seconds_per_mib * self.budget.spent / 2**20

    def _check_deadline(self):
        if self._past_deadline():
            raise SubmissionTimeout(f"grading stopped after {self.submission_timeout} s")

    def preprocess_cell(self, cell, resources, index):
        self._check_deadline()
        return super().preprocess_cell(cell, resources, index)

    def preprocess(self, nb, resources):
        self.deadline = time.monotonic() + self.submission_timeout
        self.budget = OutputBudget(self.output_bytes, self.notebook_output_bytes)
        self.renderings = Renderings()
        self.outcome = _thread.outcome = Outcome()
        self.drops = []  # the cells in which the kernel sent a message over message_bytes
        self.dropped_client = self.cell_index = None
        self.tests = {index: cell.source for index, cell in enumerate(nb.cells) if is_test(cell)}
        for index in self.tests:
            nb.cells[index].source = ""
        done = threading.Event()
        watchdog = threading.Thread(target=self._watch, args=(done,), daemon=True)
        watchdog.start()
        try:
            return super().preprocess(nb, resources)
        finally:
            done.set()
            for index, source in self.tests.items():
                nb.cells[index].source = source

    def _watch(self, done):
        """The watchdog: at the submission timeout, or past its CPU-seconds, end every process of the kernel."""
        while not done.wait(0.25):
            km = getattr(self, "km", None)
            group = getattr(km, "group", None)
            over_time = self._past_deadline()
            if over_time or (group is not None and group.cpu_seconds() > self.cpu_seconds):
                self.outcome.expired = over_time
                if km is not None:
                    km.kill_now()
                return

    @contextmanager
    def setup_kernel(self, **kwargs):
        self.kernel_name = self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name", "")
        key = (self.kernel_name, self.memory_mb, self.processes, self.cpu_seconds, self.disk_mb, self.message_bytes,
               tuple(self.extra_arguments))
        with phases.within(phases.KERNEL_START):
            self.km = _spare().take(key, self._start_kernel, self.resources.get("metadata", {}).get("path"),
                                    sizes=(self.memory_mb, self.disk_mb) if self.fork_kernels else None)
            with super().setup_kernel(**kwargs):
                try:
                    with phases.within(phases.CELLS, self.km):
                        yield
                    with phases.within(phases.TESTS, self.km):
                        self.decide_tests()  # every cell has run, and the kernel still holds the student's functions
                finally:
                    self.outcome.usage, self.outcome.breaches = self.km.usage()
                    if self.drops:
                        self.outcome.breaches.append(f"sent more than {describe(self.message_bytes)} in one message")
                    if self.budget.cut_by_total:
                        self.outcome.breaches.append(f"printed more than {describe(self.notebook_output_bytes)} "
                                                     "in all its cells: output cut")

    def decide_tests(self):
        """Each test cell's outputs, from running it here against the student's functions, in the notebook's language."""
        dropout_checks.use_language(language_of(self.nb))
        try:
            with Sandbox(self.kc, self.km.runtime, self.timeout) as sandbox:
                for index, source in self.tests.items():
                    self._check_deadline()
                    self.nb.cells[index].outputs = run_test(source, sandbox)
        finally:
            dropout_checks.use_language("en")
