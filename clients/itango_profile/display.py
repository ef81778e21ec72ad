"""Plain-text tables, progress bars and number formats for the shell's terminal output."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence

from blisstango.core.scanning.table import number


def fmt(value: object, digits: int = 5) -> str:
    """A number as the shell shows it (core's table cell format, 5 decimals)."""
    return number(value, digits)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], align_left: int = 1) -> str:
    """Columns padded to their widest cell; the first `align_left` columns left aligned."""
    cells = [[str(h) for h in headers]] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row):
        return "  ".join(c.ljust(w) if i < align_left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def columns(names: Sequence[str]) -> str:
    """Names in as many columns as the terminal width allows (as `ls`)."""
    if not names:
        return ""
    width = max(len(n) for n in names) + 2
    per_line = max(1, shutil.get_terminal_size((100, 24)).columns // width)
    lines = []
    for i in range(0, len(names), per_line):
        lines.append("".join(n.ljust(width) for n in names[i:i + per_line]).rstrip())
    return "\n".join(lines)


def progress(done: int, total: int, width: int = 30) -> str:
    if total <= 0:
        return f"[{'?' * width}] {done} points"
    filled = int(width * min(done, total) / total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


class StatusLine:
    """One terminal line rewritten in place (a live position or a progress bar)."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stdout
        self._last = 0
        self._text = ""

    def show(self, text: str) -> None:
        if text == self._text and self._last:
            return
        self._text = text
        pad = max(0, self._last - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._last = len(text)

    def clear(self) -> None:
        if self._last:
            self.stream.write("\r" + " " * self._last + "\r")
            self.stream.flush()
            self._last = 0
            self._text = ""

    def done(self, text: str | None = None) -> None:
        if text is not None:
            self.show(text)
        if self._last:
            self.stream.write("\n")
            self.stream.flush()
        self._last = 0
        self._text = ""
