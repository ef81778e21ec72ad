"""The demo stack a benchmark measures through: a copy of the demo beamline brought up by
`blisstango up --detach` on a free TANGO_HOST port (set in this process's environment, so
plain DeviceProxy names reach it), brought down at the end whatever happened.

    with demo_stack(workdir) as config: ...
    with demo_stack(workdir, edit=fn, port=20000, name="slow") as config: ...
    with demo_stack(workdir, source=tree) as config: ...   # a tree of the bench's own
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def started(state) -> bool:
    """A device past its start (a ScanServer loading its session is INIT, a controller not
    yet reached FAULT)."""
    import tango

    return state not in (tango.DevState.INIT, tango.DevState.UNKNOWN, tango.DevState.FAULT)


def is_on(state) -> bool:
    import tango

    return state == tango.DevState.ON


def wait_device(device, timeout: float = 120.0, ready: Callable[[object], bool] = is_on,
                timeout_ms: int = 10000):
    """The DeviceProxy of device (a name or a proxy) once ready(its state) holds; a device
    that does not answer yet is asked again; TimeoutError naming it after timeout s."""
    import time

    import tango

    dev = device if isinstance(device, tango.DeviceProxy) else tango.DeviceProxy(device)
    dev.set_timeout_millis(timeout_ms)
    deadline = time.monotonic() + timeout
    state = None
    while True:
        try:
            state = dev.state()
            if ready(state):
                return dev
        except tango.DevFailed:
            state = "not answering"
        if time.monotonic() > deadline:
            raise TimeoutError(f"{dev.dev_name()} not ready after {timeout} s (state {state})")
        time.sleep(0.2)


def blisstango(*args: str) -> None:
    subprocess.run([str(BIN / "blisstango"), *args], check=True, capture_output=True, timeout=180)


@contextmanager
def demo_stack(workdir: Path, edit: Callable[[Path], None] | None = None, port: int = 0,
               name: str = "", source: Path | None = None, up_args: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yields the configuration folder (workdir/config[_name]) of the running stack.
    edit(config): changes the copy before the stack starts; port: the TANGO_HOST port
    (0: a free one); name: a second stack in the same workdir, one after the other;
    source: the tree copied instead of the demo beamline; up_args: more options of
    `blisstango up` (--no-web)."""
    suffix = f"_{name}" if name else ""
    config = workdir / f"config{suffix}"
    shutil.copytree(source or REPO / "examples" / "demo_beamline", config)
    if edit is not None:
        edit(config)
    run_dir = workdir / f"run{suffix}"
    os.environ["TANGO_HOST"] = f"127.0.0.1:{port or free_port()}"
    port = os.environ["TANGO_HOST"].rsplit(":", 1)[1]
    blisstango("up", str(config), "--detach", "--port", port, "--run-dir", str(run_dir), *up_args)
    try:
        yield config
    finally:
        blisstango("down", "--run-dir", str(run_dir))
