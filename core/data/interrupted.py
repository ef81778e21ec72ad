"""Scans whose process died (kill -9, a crash) before they ended: closed by the next one.

A scan records the process running it (`runner`: host and pid) in its info. A process that
dies mid-scan leaves the scan STARTED in the data Redis for ever: followers wait, the file
writer keeps its entry open. `close_interrupted` (called by a ScanServer when it starts)
ends every such scan of a session whose runner is gone: the channels are sealed at the
points they hold, the info says FAILURE with a sentence naming the process, and the state
goes to STOPPED then CLOSED, as a scan that ended itself. Readers and the NexusWriter then
finish the entry with what was published."""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time

import redis

from . import encoding, layout

log = logging.getLogger(__name__)

#: how many of the session's latest scans are looked at (older ones ended long ago)
LOOK_BACK = 50


def runner_tag() -> dict:
    """This process, as a scan's `runner` (process: "ScanServer demo", "blisstango shell")."""
    words = [os.path.basename(sys.argv[0] if sys.argv and sys.argv[0] else sys.executable), *sys.argv[1:2]]
    return {"host": socket.gethostname(), "pid": os.getpid(), "process": " ".join(words)}


def _gone(runner: dict) -> bool:
    """True when the runner is a process of this host that no longer exists."""
    if runner.get("host") != socket.gethostname() or not runner.get("pid"):
        return False  # another host's process: not ours to judge
    pid = int(runner["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _points_published(connection: redis.Redis, stream: str) -> tuple[int, bool]:
    """(points in a channel stream, whether it is sealed), from its last entry."""
    last = connection.xrevrange(stream, count=1)
    if not last:
        return 0, False
    kind, first, payload = encoding.decode(last[0][1])
    if kind == "end":
        return first, True
    count = len(payload) if kind == "refs" else int(last[0][1][b"n"])
    return first + count, False


def close_interrupted(connection: redis.Redis, session: str, process: str) -> list[dict]:
    """End the scans of `session` whose runner died; `process` (the one closing them, for
    the log) is ScanServer/demo. Returns the info of each scan closed."""
    closed = []
    entries = connection.xrevrange(layout.session_key(session), count=LOOK_BACK)
    for _, fields in entries:
        key = fields[b"key"].decode()
        raw = connection.get(layout.info_key(key))
        if raw is None:
            continue
        info = json.loads(raw)
        if info.get("state") == "CLOSED" or not _gone(info.get("runner") or {}):
            continue
        points, unsealed = {}, []
        for name in info.get("channels", {}):
            points[name], sealed = _points_published(connection, layout.channel_key(key, name))
            if not sealed:
                unsealed.append(name)
        npoints = min(points.values(), default=0)
        now = time.time()
        runner = info["runner"]
        info.update(state="CLOSED", end_reason="FAILURE", end_time=now, npoints_done=npoints,
                    error=f"InterruptedScan: scan {info.get('scan_nb')} of session {session} stopped after "
                          f"{npoints} points: the process running it ({runner.get('process', '?')}, pid "
                          f"{runner['pid']}) died during it (killed or crashed); the points taken are kept")
        timings = info.setdefault("timings", {})
        p = connection.pipeline(transaction=False)  # in the order a scan ending itself writes
        if "stopped" not in timings:
            timings["stopped"] = now
            p.xadd(layout.state_key(key), {"state": "STOPPED", "time": now})
        for name in unsealed:
            p.xadd(layout.channel_key(key, name), encoding.encode_seal(points[name]))
        timings["closed"] = now
        p.set(layout.info_key(key), json.dumps(info, default=str), keepttl=True)
        p.xadd(layout.state_key(key), {"state": "CLOSED", "time": now})
        p.execute()
        log.warning("%s closed scan %s: %s", process, key, info["error"])
        closed.append(info)
    return closed
