"""A separate Python process driving blisstango.core.beacon, for cross-process tests.

Run as a script, it reads JSON requests on stdin ({"op": ..., ...}), answers each with
one JSON line {"reply": ...} or {"error": "..."} on stdout, and reports channel
callbacks as {"event": "channel", "name": ..., "value": ...} lines whenever they come.
Redis URLs come from the BLISSTANGO_*_REDIS environment, as in any user process.
`BeaconChild` is the test-side handle.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()


# ---------------------------------------------------------------- child side ----
def _serve() -> None:
    from blisstango.core import green

    green.patch()
    from gevent.fileobject import FileObjectPosix

    from blisstango.core.beacon.channels import Channel
    from blisstango.core.beacon.locks import Lock, who_locked
    from blisstango.core.beacon.redis_server import RedisSupervisor
    from blisstango.core.beacon.settings import HashSetting

    channels: dict[str, Channel] = {}
    locks: dict[int, Lock] = {}
    supervisors: list[RedisSupervisor] = []

    def send(obj: dict) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def on_change(name: str):
        return lambda value: send({"event": "channel", "name": name, "value": value})

    def handle(req: dict) -> Any:
        op = req["op"]
        if op == "pid":
            return os.getpid()
        if op == "block":  # hold the main thread outside gevent, like a sync Tango server
            import gevent.monkey

            gevent.monkey.get_original("time", "sleep")(req["seconds"])
            return None
        if op == "get_url":
            from blisstango.core.beacon import connection

            return connection.get_url(req["kind"])
        if op == "setting_set":
            HashSetting(req["key"])[req["field"]] = req["value"]
            return None
        if op == "setting_get":
            return HashSetting(req["key"]).get(req["field"])
        if op == "channel_open":
            ch = Channel(req["name"], default=req.get("default"),
                         callback=on_change(req["name"]))
            channels[req["name"]] = ch
            return ch.value
        if op == "channel_set":
            channels[req["name"]].value = req["value"]
            return None
        if op == "channel_close":
            channels.pop(req["name"]).close()
            return None
        if op == "lock":
            lk = Lock(*req["names"], owner=req["owner"], timeout=req.get("timeout", 0),
                      priority=req.get("priority", 0),
                      on_stolen=lambda name: send({"event": "stolen", "name": name}))
            lk.acquire()
            locks[id(lk)] = lk
            return id(lk)
        if op == "release":
            locks.pop(req["id"]).release()
            return None
        if op == "who_locked":
            return who_locked(req["names"])
        if op == "supervisor_start":
            sup = RedisSupervisor(req["run_dir"]).start()
            supervisors.append(sup)
            return sup.pids()
        if op == "supervisor_start_in_thread":  # a real thread, which then ends
            import threading

            sup = RedisSupervisor(req["run_dir"])
            errors = []

            def start():
                try:
                    sup.start()
                except Exception as exc:  # re-raised in the request's greenlet
                    errors.append(exc)

            thread = threading.Thread(target=start)
            thread.start()
            thread.join()
            if errors:
                raise errors[0]
            return sup.pids()
        raise ValueError(f"unknown op {op!r}")

    stdin = FileObjectPosix(sys.stdin.fileno(), "rb")
    send({"ready": os.getpid()})
    for line in stdin:
        req = json.loads(line)
        if req["op"] == "exit":
            break
        try:
            send({"reply": handle(req)})
        except Exception as exc:  # reported to the test, which asserts on it
            send({"error": f"{type(exc).__name__}: {exc}"})
    for sup in supervisors:
        sup.stop()


# ----------------------------------------------------------------- test side ----
class ChildError(RuntimeError):
    """The child answered a request with an error."""


class BeaconChild:
    """Handle on one child process: request/reply plus a list of events."""

    def __init__(self, env: dict[str, str | None] | None = None, timeout: float = 30.0) -> None:
        import gevent.queue

        from blisstango.core.beacon.child_process import environment

        full_env = environment(env)  # None removes a variable
        self.timeout = timeout
        self.proc = subprocess.Popen([sys.executable, str(HERE)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=full_env, text=True,
                                     bufsize=1, start_new_session=True)
        self.replies: gevent.queue.Queue = gevent.queue.Queue()
        self.events: gevent.queue.Queue = gevent.queue.Queue()
        import gevent

        self._reader = gevent.spawn(self._read)
        first = self.replies.get(timeout=timeout)
        self.pid = first["ready"]

    def _read(self) -> None:
        for line in self.proc.stdout:
            msg = json.loads(line)
            (self.events if "event" in msg else self.replies).put(msg)

    def call(self, op: str, **kwargs: Any) -> Any:
        self.send(op, **kwargs)
        return self.reply()

    def send(self, op: str, **kwargs: Any) -> None:
        """Send a request without waiting; collect the answer later with reply()."""
        self.proc.stdin.write(json.dumps({"op": op, **kwargs}) + "\n")
        self.proc.stdin.flush()

    def reply(self, timeout: float | None = None) -> Any:
        msg = self.replies.get(timeout=timeout or self.timeout)
        if "error" in msg:
            raise ChildError(msg["error"])
        return msg["reply"]

    def next_event(self, timeout: float = 10.0) -> dict:
        return self.events.get(timeout=timeout)

    def __enter__(self) -> BeaconChild:
        return self

    def __exit__(self, *exc: object) -> None:
        self.exit()

    def exit(self, timeout: float = 20.0) -> int:
        """Ask for a clean exit (atexit handlers run) and reap."""
        try:
            self.proc.stdin.write(json.dumps({"op": "exit"}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        """SIGKILL (no clean-up in the child) and reap."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._reader.kill()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


if __name__ == "__main__":
    _serve()
