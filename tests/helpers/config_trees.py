"""Real configuration trees on disk for tests: copies of the demo, files written as text."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo_beamline"


def copy_demo(dst: Path) -> Path:
    """A writable copy of examples/demo_beamline at dst (returned)."""
    shutil.copytree(DEMO, dst, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    return dst


def write(root: Path, rel: str, text: str) -> Path:
    """Write dedented text to root/rel (folders created); returns the path."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path
