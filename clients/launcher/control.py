"""`up`, `down` and `status`: run a stack in this process, or steer one that runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gevent
import psutil

from blisstango.clients.launcher.rundir import RunDir, default_run_dir
from blisstango.clients.launcher.stack import Stack
from blisstango.core.beacon.supervisor import stop_process_tree


def _last_file() -> Path:
    return default_run_dir(Path("/")).parent / "last-run-dir"


def remember(run_dir: RunDir) -> None:
    """Remember the run directory so `down`/`status` without arguments find it."""
    path = _last_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(run_dir.path))


def resolve_run_dir(config_dir: str | None, run_dir: str | None) -> RunDir:
    if run_dir:
        return RunDir(Path(run_dir))
    if config_dir:
        return RunDir(default_run_dir(Path(config_dir)))
    try:
        return RunDir(Path(_last_file().read_text().strip()))
    except FileNotFoundError:
        raise SystemExit("no stack known: give the configuration folder or --run-dir") from None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def run_foreground(stack: Stack, on_ready=None) -> None:
    """Start the stack, then serve until SIGINT/SIGTERM; always stop everything."""
    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    try:
        stack.start()
        if on_ready:
            on_ready(stack)
        while not stop.wait(1.0):  # a timed wait keeps the hub running: the children
            pass                   # are watched by threads, nothing else waits on it
    finally:
        stack.stop()


def start_detached(argv: list[str], run_dir: RunDir, timeout: float = 120.0) -> int:
    """Run `blisstango up --foreground ...` in the background; wait until it is up."""
    run_dir.create()
    run_dir.state_file.unlink(missing_ok=True)
    log = open(run_dir.log("supervisor"), "ab")
    proc = subprocess.Popen([sys.executable, "-m", "blisstango.clients.cli", *argv, "--foreground"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print(f"blisstango up failed (exit {proc.returncode}); last lines of "
                  f"{run_dir.log('supervisor')}:", file=sys.stderr)
            print("\n".join(run_dir.log("supervisor").read_text().splitlines()[-15:]), file=sys.stderr)
            return 1
        state = run_dir.read_state()
        if state and state.get("ready") and state.get("supervisor_pid") == proc.pid:
            print_status(run_dir)
            return 0
        time.sleep(0.2)
    print(f"blisstango up: not up after {timeout:.0f} s; see {run_dir.logs}", file=sys.stderr)
    stop_process_tree(proc.pid)
    return 1


def down(run_dir: RunDir, timeout: float = 30.0) -> int:
    """Stop the supervisor (it stops its children), then make sure no child is left."""
    pid = run_dir.supervisor_pid()
    state = run_dir.read_state() or {}
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            stop_process_tree(pid)
    leftovers = [p["pid"] for p in state.get("processes", []) if _alive(p.get("pid"))]
    leftovers += [p for p in state.get("redis", {}).get("pids", []) if _alive(p)]
    for child in leftovers:
        stop_process_tree(child)
    run_dir.pid_file.unlink(missing_ok=True)
    print(f"stopped stack in {run_dir.path}" + (f" (killed {len(leftovers)} leftovers)" if leftovers else ""))
    return 0


def print_status(run_dir: RunDir, as_json: bool = False) -> int:
    """Print each process with its pid and its state; exit 1 if the stack is not up."""
    state = run_dir.read_state()
    sup = run_dir.supervisor_pid()
    if not state or not _alive(sup):
        print(f"no stack running in {run_dir.path}")
        return 1
    for proc in state["processes"]:
        if not _alive(proc["pid"]) and proc["state"] == "running":
            proc["state"] = "dead"
    if as_json:
        print(json.dumps(state, indent=2))
        return 0
    print(f"TANGO_HOST={state['tango_host']}   config {state['config_dir']}")
    if state.get("web_url"):
        print(f"configuration editor: {state['web_url']}")
    elif state.get("web"):
        print("configuration editor: not served (its port was taken: see the BeaconDB log)")
    print(f"  {'process':28} {'pid':>8}  {'state':10} restarts")
    print(f"  {'supervisor':28} {sup:>8}  {'running':10}")
    for url, pid in zip(state["redis"]["urls"], state["redis"]["pids"] or [None] * 2):
        print(f"  {'redis ' + _no_password(url):28} {pid or '-':>8}  "
              f"{'running' if _alive(pid) else 'external':10}")
    for proc in state["processes"]:
        print(f"  {proc['name']:28} {proc['pid'] or '-':>8}  {proc['state']:10} {proc['restarts']}")
    if state.get("ready"):
        print_hosts(state["tango_host"])
    return 0


def _no_password(url: str) -> str:
    """A Redis URL as shown to people: the ACL password masked."""
    head, sep, tail = url.rpartition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, user = head.rpartition("//")
    return f"{scheme}//{user.split(':', 1)[0]}:***@{tail}"


def print_hosts(tango_host: str, as_json: bool = False) -> int:
    """Every host's servers as the database at tango_host knows them (place, level, mode,
    running or not); 1 if the database does not answer."""
    import tango

    from blisstango.clients.launcher.hosts import host_table, print_host_table

    host, _, port = tango_host.rpartition(":")
    try:
        rows = host_table(tango.Database(host, int(port)))
    except (tango.DevFailed, ValueError) as exc:
        reason = exc.args[0].desc.strip() if isinstance(exc, tango.DevFailed) else str(exc)
        print(f"database {tango_host} does not answer: {reason}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"servers by host, as the database {tango_host} knows them:")
        print_host_table(rows)
    return 0
