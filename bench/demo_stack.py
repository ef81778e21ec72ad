"""The demo stack a benchmark measures through: a copy of the demo beamline brought up by
`blisstango up --detach` on a free TANGO_HOST port (set in this process's environment, so
plain DeviceProxy names reach it), brought down at the end whatever happened.

    with demo_stack(workdir) as config: ...
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def blisstango(*args: str) -> None:
    subprocess.run([str(BIN / "blisstango"), *args], check=True, capture_output=True, timeout=180)


@contextmanager
def demo_stack(workdir: Path, tree: Path | None = None, port: int = 0,
               up_args: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yields the configuration folder of the running stack: a copy of the demo beamline
    (workdir/config), or `tree` as it is (a bench's own small beamline). port: the
    TANGO_HOST port (0: a free one); up_args: more options of `blisstango up`."""
    config = tree or workdir / "config"
    if tree is None:
        shutil.copytree(REPO / "examples" / "demo_beamline", config)
    run_dir = workdir / "run"
    os.environ["TANGO_HOST"] = f"127.0.0.1:{port or free_port()}"
    port_text = os.environ["TANGO_HOST"].rsplit(":", 1)[1]
    blisstango("up", str(config), "--detach", "--port", port_text, "--run-dir", str(run_dir), *up_args)
    try:
        yield config
    finally:
        blisstango("down", "--run-dir", str(run_dir))
