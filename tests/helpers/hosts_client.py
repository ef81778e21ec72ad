"""A Tango client the multi-host tests run inside a namespace host (the test process
itself has no route to those hosts): `python hosts_client.py <action> [args]` with
TANGO_HOST set, prints one JSON line. Actions:

* ascan AXIS START STOP INTERVALS COUNT_TIME COUNTER — run it on the session's
  ScanServer, count the Progress change events, wait for the end; {number, done,
  events, seconds, info (the ScanInfo JSON)}
* read ATTR — {value} or {error: {reason, desc}}
* write ATTR VALUE — {ok} or {error: {reason, desc}} (PyTango, cppTango's own errors)
* move AXIS VALUE — move the demo's AXIS as the shell does (blisstango's AxisProxy, one
  GroupMoveWait on its AxisManager): {ok, position} or {error: {reason: the error's
  class, desc: the sentence the shell shows}}
* command DEVICE COMMAND [ARG | --json LIST] — {value} or {error}
* saving BASE_PATH — the session's SCAN_SAVING base_path
* ping DEVICE — {ok, us}
* latency ATTR N — N reads of ATTR: {median_us, mean_us, n}
"""

from __future__ import annotations

import json
import sys
import threading
import time

import tango

from blisstango.core.motion.axis_proxy import AxisProxy
from blisstango.core.motion.errors import MotionError

SCAN_DEVICE = "demo/scan/demo"
MANAGER_DEVICE = "demo/axismanager/demo"


def _error(exc: tango.DevFailed) -> dict:
    err = exc.args[0]
    return {"error": {"reason": err.reason, "desc": err.desc.strip(),
                      "all": [e.desc.strip() for e in exc.args]}}


def ascan(args: list[str]) -> dict:
    dev = tango.DeviceProxy(SCAN_DEVICE)
    dev.set_timeout_millis(60000)
    progress: list = []
    arrived = threading.Condition()

    def on_progress(ev) -> None:
        if not ev.err:
            with arrived:
                progress.append(ev.attr_value.value)
                arrived.notify_all()

    eid = dev.subscribe_event("Progress", tango.EventType.CHANGE_EVENT, on_progress)
    t0 = time.monotonic()
    try:
        number = dev.ascan(args)
        done = dev.WaitScan(120)
        elapsed = time.monotonic() - t0
        final = dev.Progress
        with arrived:  # the last change event may come just after WaitScan's answer
            arrived.wait_for(lambda: progress and progress[-1] == final, timeout=30)
    except tango.DevFailed as exc:
        return {**_error(exc), "seconds": time.monotonic() - t0}
    finally:
        dev.unsubscribe_event(eid)
    out = {"number": int(number), "done": bool(done), "events": len(progress),
           "last_progress": progress[-1] if progress else None, "seconds": elapsed}
    out["info"] = json.loads(dev.ScanInfo)
    return out


def main(argv: list[str]) -> int:
    action, args = argv[0], argv[1:]
    if "--json" in args:  # a command's argument given as a JSON list (DevVarStringArray)
        i = args.index("--json")
        args = [*args[:i], json.loads(args[i + 1])]
    try:
        if action == "ascan":
            out = ascan(args)
        elif action == "read":
            out = {"value": tango.AttributeProxy(args[0]).read().value}
        elif action == "move":
            axis = AxisProxy(args[0], f"demo/axis/{args[0]}", MANAGER_DEVICE, events=False)
            axis.move(float(args[1]))
            out = {"ok": True, "position": axis.position}
        elif action == "write":
            tango.AttributeProxy(args[0]).write(float(args[1]))
            out = {"ok": True}
        elif action == "command":
            dev = tango.DeviceProxy(args[0])
            arg = args[2:3]
            if arg:
                kind = dev.command_query(args[1]).in_type
                if kind == tango.CmdArgType.DevBoolean:
                    arg = [arg[0].lower() in ("1", "true")]
                elif kind in (tango.CmdArgType.DevShort, tango.CmdArgType.DevLong):
                    arg = [int(arg[0])]
            reply = dev.command_inout(args[1], *arg)
            out = {"value": list(reply) if isinstance(reply, list | tuple) else str(reply)}
        elif action == "saving":
            tango.DeviceProxy(SCAN_DEVICE).write_attribute("SCAN_SAVING", json.dumps({"base_path": args[0]}))
            out = {"ok": True}
        elif action == "latency":  # N reads of one attribute: median and mean in microseconds
            proxy, n = tango.AttributeProxy(args[0]), int(args[1])
            proxy.read()
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                proxy.read()
                times.append((time.perf_counter() - t0) * 1e6)
            times.sort()
            out = {"median_us": times[n // 2], "mean_us": sum(times) / n, "n": n}
        elif action == "ping":
            out = {"ok": True, "us": tango.DeviceProxy(args[0]).ping()}
        else:
            raise SystemExit(f"unknown action {action}")
    except tango.DevFailed as exc:
        out = _error(exc)
    except MotionError as exc:
        out = {"error": {"reason": type(exc).__name__, "desc": str(exc)}}
    print(json.dumps(out, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
