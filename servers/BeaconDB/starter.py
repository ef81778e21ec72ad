"""Tell a host's Tango Starter to re-read its server list, without ever delaying or failing
the database command that caused it (PyTango's DB blocks ~6 s here, see DESIGN §9)."""

from __future__ import annotations

import logging
import threading
from collections import deque

import tango

from blisstango.core.tangodb.store import TangoStore

log = logging.getLogger(__name__)


class StarterNotifier:
    """Queue UpdateServersInfo() calls to tango/admin/<host> in one background thread."""

    def __init__(self, store: TangoStore, server_name: str, timeout_ms: int = 1000):
        self.store, self.own_admin = store, "dserver/" + server_name.lower()
        self.timeout_ms = timeout_ms
        # a real-thread queue: gevent patches the queue module in this process
        self.pending: deque[str] = deque()
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="starter-notify", daemon=True)

    def install(self) -> None:
        self.store.after_commit.append(self._after)
        self.thread.start()

    def _after(self, op: str, args: tuple, result) -> None:
        hosts: list[str] = []
        if op == "export_device" and args[0].startswith("dserver/") \
                and args[0] != self.own_admin and not args[0].startswith("dserver/starter/"):
            hosts = [args[2]]
        elif op == "put_server_info":
            hosts = [args[1]]
        for h in hosts:
            if h and h.strip() and h != "nada":
                self.pending.append(h.split(".")[0])
                self.wake.set()

    def _loop(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            while self.pending:
                self._notify(self.pending.popleft())

    def _notify(self, host: str) -> None:
        name = f"tango/admin/{host}"
        dev = self.store.device(name)
        if dev is None or not dev.exported:
            return  # no running Starter registered for this host: nothing to tell
        try:
            proxy = tango.DeviceProxy(name)
            proxy.set_timeout_millis(self.timeout_ms)
            proxy.command_inout_asynch("UpdateServersInfo", True)
        except Exception as exc:  # noqa: BLE001 - a notification must never fail anything
            log.info("UpdateServersInfo to %s failed: %s", name, exc)
