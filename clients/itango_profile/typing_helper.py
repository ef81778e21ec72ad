"""The typing helper: `ascan m0 0 10 20 0.1 diode` runs as `ascan(m0, 0, 10, 20, 0.1, diode)`.

Rules (one-line cells only; Python stays Python):
- a line that compiles as Python is left alone (assignments, expressions, calls with
  parentheses, statements) — except a bare name of a shell command (`wa`), which is called;
- otherwise, when the first word names a callable of the namespace (dotted names too),
  the rest is split into arguments by core.command_line.split_args (at top-level commas,
  and at top-level blanks between two operands: `m0 -1` is two arguments, `2 - 1` and
  `2*pi` are one);
- IPython syntax (`%magic`, `!cmd`, `obj?`) and anything else is left alone.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from typing import Any

from blisstango.core.command_line import split_args

_HEAD = re.compile(r"^(\s*)([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:\s+(.*?))?\s*$", re.S)


def _compiles(src: str) -> bool:
    try:
        compile(src, "<input>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def _resolve(dotted: str, namespace: Mapping[str, Any]) -> Any:
    root, *rest = dotted.split(".")
    if root not in namespace:
        return None
    obj = namespace[root]
    for part in rest:
        try:
            obj = getattr(obj, part)
        except Exception:  # noqa: BLE001 - a property that fails: not a command
            return None
    return obj


def transform_line(line: str, namespace: Mapping[str, Any]) -> str:
    """The Python line a command line stands for (the line itself when it is Python)."""
    stripped = line.strip()
    if not stripped or stripped[0] in "%!?#" or stripped.endswith("?"):
        return line
    match = _HEAD.match(line)
    if match is None:
        return line
    indent, name, rest = match.group(1), match.group(2), match.group(3)
    if keyword.iskeyword(name.split(".")[0]):
        return line
    obj = _resolve(name, namespace)
    if rest is None:
        if obj is not None and callable(obj) and getattr(obj, "_autocall", False):
            return f"{indent}{name}()"
        return line
    if _compiles(stripped) or obj is None or not callable(obj):
        return line
    args = split_args(rest)
    if args is None:
        return line
    candidate = f"{indent}{name}({', '.join(args)})"
    return candidate if _compiles(candidate.strip()) else line


def make_transformer(namespace: Mapping[str, Any]):
    """An IPython `input_transformers_post` function (list of lines -> list of lines)."""

    def typing_helper(lines: list[str]) -> list[str]:
        if len([ln for ln in lines if ln.strip()]) != 1 or len(lines) > 2:
            return lines
        first = lines[0]
        newline = "\n" if first.endswith("\n") else ""
        return [transform_line(first.rstrip("\n"), namespace) + newline] + lines[1:]

    return typing_helper


__all__ = ["make_transformer", "split_args", "transform_line"]
