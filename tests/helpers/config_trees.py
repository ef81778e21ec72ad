"""Real configuration trees on disk for tests: copies of the demo, files written as text."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo_beamline"
# A frozen snapshot of the first demo tree: tests that check exact lines, comments and
# keys use it, so that the demo can grow without breaking them.
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "config_sample"


def copy_tree(tree: Path, dst: Path) -> Path:
    """A writable copy of a configuration tree at dst (returned), without hidden files
    (the writers' lock file) and caches."""
    shutil.copytree(tree, dst, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    return dst


def copy_demo(dst: Path) -> Path:
    """A writable copy of examples/demo_beamline at dst (returned)."""
    return copy_tree(DEMO, dst)


def copy_sample(dst: Path) -> Path:
    """A writable copy of the frozen sample tree (tests/data/config_sample) at dst."""
    return copy_tree(SAMPLE, dst)


def line_of(path: Path, text: str) -> int:
    """1-based number of the first line of path containing text."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def write(root: Path, rel: str, text: str) -> Path:
    """Write dedented text to root/rel (folders created); returns the path."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path
