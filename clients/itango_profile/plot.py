"""The shell's `plot`: the live plot of the session's scans in a window of its own
(`blisstango plot -s <session>`, BLISS's Flint), started once and kept while it is open.
It follows the ScanServer's events, so it shows the scans whoever starts them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_window: subprocess.Popen | None = None


def log_file(session: str) -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    path = Path(base) / "blisstango" / "plot" / f"{session}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def open_plot(session: str) -> subprocess.Popen:
    """The plot window of `session` (started if none is open); its output goes to
    log_file(session)."""
    global _window
    if _window is not None and _window.poll() is None:
        return _window
    log = open(log_file(session), "w")  # noqa: SIM115 - the child's, closed with our copy below
    try:
        _window = subprocess.Popen([sys.executable, "-m", "blisstango.clients.cli", "plot", "-s", session],
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    finally:
        log.close()
    return _window


def close_plot(timeout: float = 10.0) -> None:
    """Close the plot window opened by open_plot (if any)."""
    global _window
    if _window is None:
        return
    window, _window = _window, None
    if window.poll() is None:
        window.terminate()
        try:
            window.wait(timeout)
        except subprocess.TimeoutExpired:
            window.kill()
            window.wait()
