"""Changes to a ruamel round-trip document made in place, as a person edits a file:
only what differs is touched, so comments, quoting and key order of the rest survive,
and comment lines that introduce what follows a value stay in front of it."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken


def leading_comments(text: str) -> str:
    """The comment lines (and blank lines between them) that open text, or ""."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break
        lines.append(line.rstrip())
    head = "\n".join(lines).strip("\n")
    return head + "\n" if head else ""


def assign(container: Any, key: Any, value: Any) -> None:
    """container[key] = value, touching only what differs so that the comments, quoting
    and order of unchanged parts survive (a mapping is updated key by key)."""
    old = container[key] if _has(container, key) else None
    if _has(container, key) and isinstance(old, type(value)) and old == value \
            and isinstance(old, bool) == isinstance(value, bool):
        return
    if isinstance(old, CommentedMap) and isinstance(value, dict):
        for k in [k for k in old if k not in value]:
            del old[k]
        for k, v in value.items():
            assign(old, k, v)
        return
    if isinstance(old, CommentedSeq) and isinstance(value, list | tuple) \
            and len(old) == len(value):
        for i, v in enumerate(value):
            assign(old, i, v)
        return
    if isinstance(container, dict) and key not in container:
        append_keeping_comments(container, key, commented(value))
    else:
        container[key] = commented(value)


def _has(container: Any, key: Any) -> bool:
    if isinstance(container, list):
        return isinstance(key, int) and -len(container) <= key < len(container)
    return key in container


def _comment_slot(node: Any) -> tuple[Any, Any, int] | None:
    """(container, key, position) of the comment written after node's last value."""
    if isinstance(node, dict) and node:
        key = list(node)[-1]
        return _comment_slot(node[key]) or (node, key, 2)
    if isinstance(node, list) and node:
        return _comment_slot(node[-1]) or (node, len(node) - 1, 0)
    return None


def take_trailing(node: Any) -> str | None:
    """Detach the full-line comments written after node's last value (ruamel attaches
    them there, though they introduce whatever follows node); keeps the end-of-line one."""
    slot = _comment_slot(node)
    if slot is None:
        return None
    container, key, pos = slot
    entry = container.ca.items.get(key)
    token = entry[pos] if entry and len(entry) > pos else None
    if token is None or "\n" not in token.value:
        return None
    eol, _, rest = token.value.partition("\n")
    if not rest.strip():
        return None
    if eol.strip():
        token.value = eol + "\n"
    else:
        entry[pos] = None
    return rest


def give_trailing(node: Any, rest: str | None) -> None:
    """Attach comment lines after node's last value (inverse of _take_trailing)."""
    slot = _comment_slot(node) if rest else None
    if slot is None:
        return
    container, key, pos = slot
    entry = container.ca.items.setdefault(key, [None, None, None, None])
    while len(entry) <= pos:
        entry.append(None)
    if entry[pos] is None:
        entry[pos] = CommentToken("\n" + rest, CommentMark(0), None)
    else:
        entry[pos].value = entry[pos].value.rstrip("\n") + "\n" + rest


def append_keeping_comments(container: Any, key: Any, value: Any) -> None:
    """Add a new last key (or list item when key is None), keeping the comment lines
    that followed the old last value after the new one."""
    rest = take_trailing(container)
    if key is None:
        container.append(value)
    else:
        container[key] = value
    give_trailing(container, rest)


def move_trailing_comment(doc: Any, path: tuple) -> None:
    """Before an object leaves a list, hand the comment lines written after it to the
    previous item (they describe the next item). Dropped if there is no previous item."""
    rest = take_trailing(_get(doc, path))
    idx = path[-1] if path else None
    if rest and isinstance(idx, int) and idx > 0:
        give_trailing(_get(doc, path[:-1] + (idx - 1,)), rest)


def _get(doc: Any, path: tuple) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def commented(data: Any) -> Any:
    """Plain data as ruamel containers (so it is emitted in block style)."""
    if isinstance(data, dict):
        out = CommentedMap()
        for k, v in data.items():
            out[k] = commented(v)
        return out
    if isinstance(data, list | tuple):
        return CommentedSeq(commented(v) for v in data)
    return data


def line_of(mapping: Any, key: Any) -> int | None:
    """1-based line of key in a ruamel mapping (of the mapping itself if key is None)."""
    try:
        if key is None:
            return mapping.lc.line + 1
        return mapping.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return None
