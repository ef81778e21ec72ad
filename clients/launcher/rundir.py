"""The run directory: one folder holding every log, pid and state file of a stack.

Layout::

    <run_dir>/supervisor.pid   pid of the `blisstango up` process
    <run_dir>/state.json       what runs: name, pid, state, restarts, command
    <run_dir>/logs/<name>.log  one log per process
    <run_dir>/redis/           the embedded Redis servers' data and pid files
    <run_dir>/beacondb/        BeaconDB's runtime store
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def default_run_dir(config_dir: Path) -> Path:
    """A stable per-configuration folder under the user's state directory.

    Stable so that settings (Redis append-only file) and exported devices survive
    a restart of the stack; per configuration so two beamlines never share one.
    """
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    config_dir = Path(config_dir).resolve()
    digest = hashlib.sha1(str(config_dir).encode()).hexdigest()[:8]
    return base / "blisstango" / f"{config_dir.name}-{digest}"


class RunDir:
    """Paths and state files of one stack."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def pid_file(self) -> Path:
        return self.path / "supervisor.pid"

    @property
    def state_file(self) -> Path:
        return self.path / "state.json"

    def create(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)

    def log(self, name: str) -> Path:
        return self.logs / f"{name.replace('/', '_')}.log"

    def sub(self, name: str) -> Path:
        path = self.path / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def write_state(self, state: dict[str, Any]) -> None:
        """Atomically replace state.json so `status` never reads half a file."""
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        os.replace(tmp, self.state_file)

    def read_state(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def supervisor_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
