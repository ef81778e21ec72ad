"""Real Tango database processes for tests: BeaconDB and, as the reference peer,
PyTango's own sqlite DataBaseds. Each on a free port, in a temp dir, killed by pid."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from helpers.procs import ServerProcess, free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def db_answers(tango_host: str) -> bool:
    """True once DbInfo answers through TANGO_HOST (the port alone may open before the device)."""
    import tango

    try:
        host, port = tango_host.rsplit(":", 1)
        db = tango.Database(host, int(port))
        db.set_timeout_millis(2000)
        db.command_inout("DbInfo")
        return True
    except Exception:
        return False


class DbProcess(ServerProcess):
    """A database server; .tango_host, .env, start(), kill(sig), stop()."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.log = self.workdir / f"{type(self).__name__}.log"

    @property
    def tango_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {"TANGO_HOST": self.tango_host}

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> DbProcess:
        self.launch(self.command(), env=self.env, cwd=str(self.workdir))
        self.wait_ready(lambda: db_answers(self.tango_host), f"database at {self.tango_host}", 60)
        return self


class BeaconDBProcess(DbProcess):
    def __init__(self, workdir: Path, port: int | None = None, config: Path | None = None,
                 extra: list[str] | None = None) -> None:
        super().__init__(workdir, port)
        self.config = config
        self.extra = extra if extra is not None else ["--no-redis"]

    def command(self) -> list[str]:
        cmd = [str(BIN / "BeaconDB"), "2", "--host", "127.0.0.1", "--port", str(self.port),
               "--run-dir", str(self.workdir / "run")]
        if self.config is not None:
            cmd += ["--config", str(self.config)]
        return cmd + self.extra


class SqliteDBProcess(DbProcess):
    """PyTango's reference DataBaseds on sqlite (tango_database.db in workdir)."""

    def command(self) -> list[str]:
        return [sys.executable, "-m", "tango.databaseds.database", "--host", "127.0.0.1",
                "--port", str(self.port), "2"]


def wait_view(cfg, ready, timeout: float = 30.0):
    """The tree's Tango view once ready(view) holds; it must parse and validate meanwhile."""
    from blisstango.core.config import load_tree
    from blisstango.core.config.tango_view import tango_view

    deadline = time.monotonic() + timeout
    while True:
        view = tango_view(load_tree(cfg))
        assert not view.errors, view.errors
        if ready(view):
            return view
        assert time.monotonic() < deadline, "YAML never got the writes"
        time.sleep(0.1)
