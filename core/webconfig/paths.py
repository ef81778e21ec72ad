"""Which paths a request may name: only visible files and folders of the tree.

Every path from a request is checked before use: text only (no NUL), relative, no
`..`, no hidden part (`.git`, the lock file, temp files), and once resolved (symlinks
followed) still inside the configuration folder.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath


class PathRefused(ValueError):
    """A path a request may not use; the message says why."""


def safe_rel(root: Path, path: str, *, yml: bool = False, must_exist: bool = False) -> str:
    """The relative posix path of `path` inside root, or PathRefused."""
    if not isinstance(path, str) or not path.strip():
        raise PathRefused("no path given")
    if "\x00" in path:
        raise PathRefused("a path cannot contain a NUL byte")
    if "\\" in path:
        raise PathRefused(f"{path!r}: use / between folders")
    pure = PurePosixPath(path)
    if pure.is_absolute():
        raise PathRefused(f"{path!r} is absolute: paths are relative to the configuration folder")
    parts = [p for p in pure.parts if p != "."]
    if not parts:
        raise PathRefused("the configuration folder itself cannot be named here")
    if ".." in parts:
        raise PathRefused(f"{path!r} leaves the configuration folder ('..')")
    if any(p.startswith(".") for p in parts):
        raise PathRefused(f"{path!r}: hidden files and folders are not part of the configuration")
    rel = "/".join(parts)
    full = (root / rel).resolve()
    if not full.is_relative_to(root):
        raise PathRefused(f"{rel!r} leads outside the configuration folder (a symbolic link)")
    if yml and not rel.endswith(".yml"):
        raise PathRefused(f"{rel!r}: configuration files end in .yml")
    if must_exist and not full.exists():
        raise FileNotFoundError(rel)
    return rel
