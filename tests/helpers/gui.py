"""A Taurus GUI process of the test's own (helpers/gui_driver.py), Qt offscreen, with a
writable HOME of its own, against a stack's TANGO_HOST.

    with GuiProcess("gui", "demo", stack.tango_host, tmp_path) as gui:
        gui.eval("panel('Motors').axis_row('m0').readWidget().text()")
        gui.eval("...", until="condition", timeout=10)   # Qt runs until the condition holds
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from .procs import kill_tree

DRIVER = Path(__file__).with_name("gui_driver.py")


def gui_env(tango_host: str, home: Path) -> dict:
    home.mkdir(parents=True, exist_ok=True)
    runtime = home / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return dict(os.environ, TANGO_HOST=tango_host, HOME=str(home), QT_QPA_PLATFORM="offscreen",
                XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
                XDG_RUNTIME_DIR=str(runtime), PYTHONFAULTHANDLER="1")


class GuiError(AssertionError):
    pass


class GuiProcess:
    def __init__(self, what: str, session: str, tango_host: str, workdir: Path, *args: str,
                 start_timeout: float = 120.0) -> None:
        self.workdir = Path(workdir)
        self.log_path = self.workdir / f"gui-{what}.log"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen([sys.executable, str(DRIVER), what, session, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._log,
                                     env=gui_env(tango_host, self.workdir / "home"))
        self._buf = b""
        try:
            self.ready = self._read(start_timeout)
        except BaseException:
            self.close()
            raise
        self.startup = float(self.ready["startup"])

    def __enter__(self) -> GuiProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def log(self, chars: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text()[-chars:]

    def _read(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuiError(f"GUI process: no answer within {timeout} s; its log:\n{self.log()}")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise GuiError(f"GUI process exited ({self.proc.wait()}); its log:\n{self.log()}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def request(self, req: dict, timeout: float) -> dict:
        self.send(req)
        return self.receive(timeout)

    def send(self, req: dict) -> None:
        self.proc.stdin.write((json.dumps(req) + "\n").encode())
        self.proc.stdin.flush()

    def receive(self, timeout: float) -> dict:
        reply = self._read(timeout + 30)
        if "error" in reply:
            raise GuiError(f"in the GUI process:\n{reply['error']}")
        return reply

    def exec(self, code: str, timeout: float = 30) -> None:
        self.request({"exec": code}, timeout)

    def eval(self, expr: str, until: str | None = None, timeout: float = 20):
        """The value of expr, once `until` holds (GuiError naming it if it never does)."""
        reply = self.request({"eval": expr, "until": until, "timeout": timeout}, timeout)
        if not reply["ok"]:
            raise GuiError(f"GUI: {until!r} still false after {timeout} s (value of {expr!r}: {reply['value']!r})")
        return reply["value"]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                kill_tree(self.proc.pid)
                self.proc.wait()
        self._log.close()
