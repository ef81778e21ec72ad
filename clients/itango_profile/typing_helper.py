"""The typing helper: `ascan m0 0 10 20 0.1 diode` runs as `ascan(m0, 0, 10, 20, 0.1, diode)`.

Rules (one-line cells only; Python stays Python):
- a line that compiles as Python is left alone (assignments, expressions, calls with
  parentheses, statements) — except a bare name of a shell command (`wa`), which is called;
- otherwise, when the first word names a callable of the namespace (dotted names too),
  the rest is split into arguments: at top-level commas, and at top-level blanks between
  two operands (`m0 -1` is two arguments, `2 - 1` and `2*pi` are one);
- IPython syntax (`%magic`, `!cmd`, `obj?`) and anything else is left alone.
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from collections.abc import Mapping
from typing import Any

_HEAD = re.compile(r"^(\s*)([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:\s+(.*?))?\s*$", re.S)
_OPEN, _CLOSE = "([{", ")]}"
_OPERAND_KEYWORDS = {"True", "False", "None"}


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


def _tokens(text: str) -> list[tokenize.TokenInfo] | None:
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    skip = {tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.COMMENT,
            tokenize.INDENT, tokenize.DEDENT}
    return [t for t in toks if t.type not in skip]


def _ends_operand(tok: tokenize.TokenInfo) -> bool:
    if tok.type == tokenize.NAME:
        return not keyword.iskeyword(tok.string) or tok.string in _OPERAND_KEYWORDS
    return tok.type in (tokenize.NUMBER, tokenize.STRING) or tok.string in _CLOSE


def _starts_operand(tok: tokenize.TokenInfo, nxt: tokenize.TokenInfo | None) -> bool:
    if tok.type == tokenize.NAME:
        return not keyword.iskeyword(tok.string) or tok.string in _OPERAND_KEYWORDS | {"not", "lambda"}
    if tok.type in (tokenize.NUMBER, tokenize.STRING) or tok.string in _OPEN:
        return True
    # a sign glued to what follows, after a blank: `m0 -1`
    return tok.string in ("-", "+", "~") and nxt is not None and nxt.start == tok.end


def split_args(text: str) -> list[str] | None:
    """Arguments of a command line's tail, or None when it cannot be tokenized."""
    toks = _tokens(text)
    if toks is None:
        return None
    args: list[list[tokenize.TokenInfo]] = [[]]
    depth = 0
    for i, tok in enumerate(toks):
        if tok.string in _OPEN:
            if depth == 0 and args[-1] and tok.start != args[-1][-1].end and _ends_operand(args[-1][-1]):
                args.append([])
            depth += 1
        elif tok.string in _CLOSE:
            depth -= 1
        elif depth == 0 and tok.string == ",":
            args.append([])
            continue
        elif depth == 0 and args[-1]:
            prev = args[-1][-1]
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if tok.start != prev.end and _ends_operand(prev) and _starts_operand(tok, nxt):
                args.append([])
        args[-1].append(tok)
    if depth != 0:
        return None
    lines = text.splitlines() or [""]
    out = []
    for group in args:
        if not group:
            continue
        (r0, c0), (r1, c1) = group[0].start, group[-1].end
        if r0 != r1:
            return None
        out.append(lines[r0 - 1][c0:c1])
    return out


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
