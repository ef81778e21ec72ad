"""Drive the real `blisstango shell` in a pseudo-terminal against a real demo stack."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pexpect.fdpexpect

from .demo_stack import DemoStack, stack_env

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
        running = r"(?:\[\w+ running\] )?"   # a procedure running on the server
        return rf"{self.prompt_name} {running}\[{color}{n}{color}\]:"

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
