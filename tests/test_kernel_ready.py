"""A confined kernel is ready as soon as it has answered kernel_info on shell and on IOPub: no idle wait."""

from queue import Empty

import pytest
from jupyter_core.utils import run_sync

from autograder.trusted import ConfinedKernelManager


@pytest.fixture
def kernel(tmp_path):
    km = ConfinedKernelManager(memory_mb=1024, disk_mb=64)
    run_sync(km.start_kernel)(cwd=str(tmp_path))
    yield km
    run_sync(km.shutdown_kernel)(now=True)


class Watched:
    """A client's IOPub channel whose reads are counted: how many ended with nothing (Empty); the messages
    answering the first `lose` kernel_info requests are lost."""

    def __init__(self, channel, requests, lose=0):
        self.channel, self.requests, self.lose, self.empty, self.lost = channel, requests, lose, 0, []

    async def get_msg(self, timeout=None):
        while True:
            try:
                msg = await self.channel.get_msg(timeout=timeout)
            except Empty:
                self.empty += 1
                raise
            if msg["parent_header"].get("msg_id") in self.requests[:self.lose]:  # as a SUB socket not yet
                # subscribed misses what the kernel sends
                self.lost.append(msg)
                continue
            return msg


async def _ready_then_run(km, lose=0):
    client = km.client()
    client.start_channels()
    requests = []
    send = client.kernel_info
    client.kernel_info = lambda: requests.append(send()) or requests[-1]
    try:
        await client.wait_for_ready(timeout=60)  # subscribed to IOPub: no message of the next request is missed
        requests.clear()
        watched = Watched(client.iopub_channel, requests, lose)
        client._iopub_channel = watched
        await client.wait_for_ready(timeout=60)
        client._iopub_channel = watched.channel
        reply = await client.execute_interactive("print('after ready')", timeout=30, output_hook=outputs.append)
        return watched, requests, reply
    finally:
        client.stop_channels()


outputs = []


def test_ready_without_waiting_for_iopub_to_fall_silent(kernel):
    """jupyter_client reads IOPub until 0.2 s pass with nothing; ours stops at the request's idle status."""
    outputs.clear()
    watched, requests, reply = run_sync(_ready_then_run)(kernel)
    assert watched.empty == 0, f"waited {watched.empty} times for IOPub messages that never came"
    assert reply["content"]["status"] == "ok"
    assert [m["content"]["text"] for m in outputs if m["msg_type"] == "stream"] == ["after ready\n"]


def test_iopub_messages_missed_are_asked_for_again(kernel):
    """IOPub messages lost (as before a client has subscribed): kernel_info is asked again until IOPub answers it."""
    outputs.clear()
    watched, requests, reply = run_sync(_ready_then_run)(kernel, lose=1)
    assert len(requests) >= 2, "the kernel was taken as ready without an answer on IOPub"
    assert {m["parent_header"]["msg_id"] for m in watched.lost} == {requests[0]}
    assert reply["content"]["status"] == "ok"
    assert [m["content"]["text"] for m in outputs if m["msg_type"] == "stream"] == ["after ready\n"]
