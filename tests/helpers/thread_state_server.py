"""A device server for tests/test_server_request_thread.py: ``python thread_state_server.py
<port>`` serves test/pin/1 without a database. Each command reports the native id of the
request thread and a per-thread call count kept in a threading.local, which survives
from one request to the next only if that thread's Python state does."""

from __future__ import annotations

import sys
import threading

from blisstango.core import green

green.patch()

from tango.server import Device, command, run  # noqa: E402

from blisstango.servers import request_thread  # noqa: E402

_local = threading.local()


class PinProbe(Device):
    always_executed_hook = request_thread.request_hook

    @command(dtype_out=(int,))
    def Visit(self):
        """[native thread id, calls seen by this thread state, threads kept]."""
        _local.calls = getattr(_local, "calls", 0) + 1
        return [threading.get_native_id(), _local.calls, len(request_thread._PINNED)]


if __name__ == "__main__":
    port = sys.argv[1]
    run((PinProbe,), args=["PinProbe", "test", "-nodb", "-port", port, "-dlist", "test/pin/1"])
