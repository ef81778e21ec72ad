"""How a command line's tail splits into arguments: `ascan m0 0 10 20 0.1 diode`.

One splitter for everyone who reads what a person types as a command: the shell's
typing helper (clients/itango_profile/typing_helper.py) turns the pieces into a Python
call; RunProcedure (core/procedures) turns each piece into a value without evaluating
it. Arguments are split at top-level commas, and at top-level blanks between two
operands (`m0 -1` is two arguments, `2 - 1` and `2*pi` are one).
"""

from __future__ import annotations

import io
import keyword
import tokenize

_OPEN, _CLOSE = "([{", ")]}"
_OPERAND_KEYWORDS = {"True", "False", "None"}


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



__all__ = ["split_args"]
