"""Drive the real `blisstango shell` in a pseudo-terminal against a real demo stack."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pexpect.fdpexpect

from .procs import free_port

BIN = Path(sys.executable).parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def clean(text: str) -> str:
    """Terminal output without escape sequences; each line as last drawn after `\\r`."""
    text = ANSI.sub("", text)
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        parts = [p for p in line.split("\r") if p.strip()]
        lines.append(parts[-1] if parts else "")
    return "\n".join(lines)


def stack_env(**extra: str) -> dict:
    """The environment for the stack and the shell: Redis is found through Beacon
    (TANGO_HOST only), never through Redis URLs other tests may have exported."""
    from blisstango.core.beacon import connection

    env = {k: v for k, v in os.environ.items() if k not in connection.ENV_VARS.values()}
    env.update(extra)
    return env


class DemoStack:
    """`blisstango up` of a copy of the demo beamline on a free port; `down` at close."""

    def __init__(self, demo_config: Path, tmp: Path) -> None:
        self.config = tmp / "config"
        shutil.copytree(demo_config, self.config, ignore=shutil.ignore_patterns(".blisstango.lock"))
        self.run_dir = tmp / "run"
        self.port = free_port()
        self.tango_host = f"127.0.0.1:{self.port}"
        self._blisstango("up", str(self.config), "--detach", "--port", str(self.port),
                         "--run-dir", str(self.run_dir))
        try:
            self.wait_ready()
        except BaseException:
            self.close()
            raise

    def _blisstango(self, *args: str, check: bool = True) -> None:
        subprocess.run([str(BIN / "blisstango"), *args], check=check, timeout=120,
                       capture_output=True, text=True, env=stack_env())

    def device(self, name: str):
        import tango

        return tango.DeviceProxy(f"tango://{self.tango_host}/{name}")

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until the axes, the ScanServer of session demo and the writer answer ON."""
        import tango

        deadline = time.monotonic() + timeout
        wanted = ["demo/axis/m0", "demo/axis/sl_vgap", "demo/scan/demo", "demo/writer/default"]
        last = ""
        while time.monotonic() < deadline:
            try:
                if all(self.device(d).state() == tango.DevState.ON for d in wanted):
                    return
            except tango.DevFailed as exc:
                last = exc.args[0].desc
            time.sleep(0.5)
        raise TimeoutError(f"demo stack on {self.tango_host} not ready after {timeout} s: {last}")

    def data_redis(self):
        import redis

        url = self.device("sys/beacon/1").read_attribute("DataRedisUrl").value
        return redis.Redis.from_url(url)

    def scan_info(self, key: str) -> dict:
        return json.loads(self.data_redis().get(f"scan:{key}"))

    def close(self) -> None:
        self._blisstango("down", "--run-dir", str(self.run_dir), check=False)


class TerminalProcess(pexpect.fdpexpect.fdspawn):
    """A process on a new pseudo-terminal that is its controlling terminal (so Ctrl-C
    typed there reaches it as SIGINT), driven with pexpect's expect/send.

    Started by subprocess + `setsid --ctty`, not pexpect.spawn: a fork from this
    gevent-patched, multi-threaded test process can hang ptyprocess forever."""

    def __init__(self, argv: list[str], env: dict, rows: int = 50, cols: int = 200, **kwargs) -> None:
        import fcntl
        import struct
        import termios

        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(["setsid", "--ctty", *argv], stdin=slave, stdout=slave,
                                     stderr=slave, env=env, close_fds=True)
        os.close(slave)
        super().__init__(master, encoding="utf-8", **kwargs)
        self.pid = self.proc.pid

    def isalive(self) -> bool:
        return self.proc.poll() is None

    def sendintr(self) -> None:
        self.send("\x03")

    def close(self, force: bool = True) -> None:
        if self.proc.poll() is None and force:
            from .procs import kill_tree

            kill_tree(self.proc.pid)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        try:
            super().close()
        except OSError:
            pass


class Shell:
    """One `blisstango shell -s demo` in a pty; `run(line)` returns what the command printed."""

    def __init__(self, stack: DemoStack, state_dir: Path, session: str = "demo",
                 argv: list[str] | None = None, env: dict | None = None) -> None:
        """argv: another command than `blisstango shell -s <session>` (itango itself)."""
        env = stack_env(TANGO_HOST=stack.tango_host, XDG_STATE_HOME=str(state_dir),
                        NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm", **(env or {}))
        self.prompt_name = session.upper()
        argv = argv or [str(BIN / "blisstango"), "shell", "-s", session]
        self.child = TerminalProcess(argv, env=env, timeout=60)
        self.count = 1
        self.child.expect(self._prompt(1), timeout=60)
        self.banner = self.child.before

    def _prompt(self, n: int) -> str:
        color = r"(?:\x1b\[[0-9;]*m)?"
        return rf"{self.prompt_name} \[{color}{n}{color}\]:"

    def send(self, line: str) -> None:
        self.child.sendline(line)

    def wait_prompt(self, timeout: float = 60.0) -> str:
        """Raw output up to the next numbered prompt."""
        self.count += 1
        self.child.expect(self._prompt(self.count), timeout=timeout)
        return self.child.before

    def run(self, line: str, timeout: float = 60.0) -> str:
        self.send(line)
        return clean(self.wait_prompt(timeout))

    def close(self) -> None:
        if self.child.isalive():
            self.child.sendline("exit")
            try:
                self.child.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.child.close(force=True)
