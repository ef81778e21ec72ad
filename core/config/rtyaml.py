"""ruamel.yaml round-trip that writes a file back in its own indentation style.

ruamel emits one indentation scheme per document, while hand-written files often put
top-level list dashes at column 0 and nested ones indented (`axes:\n    - name:`).
The scheme that reproduces the unchanged file is found by trying the common ones; a
top-level list at column 0 is shifted right before loading and back after dumping so
that comments keep their columns.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML

# (mapping indent, sequence indent, dash offset), most common first
_SCHEMES = [(2, 4, 2), (2, 2, 0), (4, 4, 0), (4, 6, 2), (4, 4, 2), (2, 4, 0)]


@dataclass(frozen=True)
class Style:
    mapping: int = 2
    sequence: int = 4
    offset: int = 2
    shift: int = 0  # columns added before loading, removed after dumping

    def yaml(self) -> YAML:
        y = YAML(typ="rt")
        y.preserve_quotes = True
        y.width = 4096  # never re-fold long strings
        y.indent(mapping=self.mapping, sequence=self.sequence, offset=self.offset)
        return y


def _shift(text: str, n: int) -> str:
    if not n:
        return text
    pad = " " * n
    return "".join(pad + ln if ln.strip() and not ln.startswith(("---", "...", "%")) else ln
                   for ln in text.splitlines(keepends=True))


def _unshift(text: str, n: int) -> str:
    if not n:
        return text
    pad = " " * n
    return "".join(ln[n:] if ln.startswith(pad) else ln
                   for ln in text.splitlines(keepends=True))


def _top_level_dash_col0(text: str) -> bool:
    for ln in text.splitlines():
        s = ln.strip()
        if s and not s.startswith("#") and not ln.startswith(("---", "%")):
            return ln.startswith("-")
    return False


def load(text: str, style: Style) -> Any:
    """Round-trip document of text (as detect_style found it written)."""
    return style.yaml().load(_shift(text, style.shift if _top_level_dash_col0(text) else 0))


def dump(data: Any, style: Style) -> str:
    """YAML text of data in style; the column-0 shift only applies to a top-level list."""
    buf = io.StringIO()
    style.yaml().dump(data, buf)
    return _unshift(buf.getvalue(), style.shift if isinstance(data, list) else 0)


def detect_style(text: str) -> Style:
    """The scheme whose unchanged round trip differs least from text (exact if possible)."""
    col0 = _top_level_dash_col0(text)
    best, best_score = Style(), None
    lines = text.splitlines()
    for m, s, o in _SCHEMES:
        style = Style(m, s, o, o if col0 and o else 0)
        try:
            out = dump(load(text, style), style)
        except Exception:  # noqa: BLE001 - an unloadable scheme simply does not fit
            continue
        if out == text:
            return style
        out_lines = out.splitlines()
        score = sum(a != b for a, b in zip(lines, out_lines)) + abs(len(lines) - len(out_lines))
        if best_score is None or score < best_score:
            best, best_score = style, score
    return best
