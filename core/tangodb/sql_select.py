"""DbMySqlSelect: the read-only SELECT queries that itango, Taurus and tango-checkup send,
evaluated on the in-memory tables, in the reply layout of the C++ DataBaseds:
longs = one 1/0 (not NULL/NULL) per field, then row count and column count.

Grammar: SELECT [DISTINCT] cols|* FROM table [WHERE cond] [ORDER BY col [ASC|DESC], ...]
with cond := term (AND|OR term)*, term := [NOT] (cond) | col (=|!=|<>|LIKE|NOT LIKE) 'lit'
| col IS [NOT] NULL.
"""

from __future__ import annotations

import re

from .errors import DbError, bad_args
from .store import TangoStore

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.)*\")|(?P<num>-?\d+(?:\.\d+)?)"
                    r"|(?P<op><>|!=|<=|>=|=|<|>|\(|\)|,|\*)|(?P<word>[A-Za-z_][A-Za-z_0-9.]*))")


def _rows(store: TangoStore, table: str) -> tuple[list[str], list[tuple]]:
    """Columns and rows of one table, named as in the C++ MySQL schema."""
    with store.lock:
        if table == "device":
            cols = ["name", "alias", "domain", "family", "member", "exported", "ior", "host",
                    "server", "pid", "class", "version", "started", "stopped"]
            rows = [(d.name, d.alias, d.domain, d.family, d.member, d.exported, d.ior, d.host,
                     d.server, d.pid, d.klass, d.version, d.started, d.stopped)
                    for d in store.devices.values()]
        elif table in ("property_device", "property_class", "property"):
            key = {"property_device": "device", "property_class": "class", "property": "object"}[table]
            cols = [key, "name", "count", "value"]
            t = store.tables[{"property_device": "device", "property_class": "class",
                              "property": "object"}[table]]
            rows = [(owner, name, i, v) for owner, props in t.data.values()
                    for name, values in props.values() for i, v in enumerate(values, 1)]
        elif table in ("property_attribute_device", "property_attribute_class"):
            key = "device" if table.endswith("device") else "class"
            cols = [key, "attribute", "name", "count", "value"]
            t = store.tables["device_attr" if key == "device" else "class_attr"]
            rows = [(owner[0], owner[1], name, i, v) for owner, props in t.data.values()
                    for name, values in props.values() for i, v in enumerate(values, 1)]
        elif table == "server":
            cols = ["name", "host", "mode", "level"]
            rows = [tuple(i) for i in store.server_info.values()]
        elif table == "attribute_alias":
            cols = ["alias", "name", "device", "attribute"]
            rows = [(a, n, n.rsplit("/", 1)[0], n.rsplit("/", 1)[1]) for a, n in store.attr_aliases.values()]
        elif table == "event":
            cols = ["name", "exported", "ior", "host", "pid", "version"]
            rows = [(n, *v[:1], v[1], v[2], v[3], v[4]) for n, v in store.events.items()]
        else:
            raise bad_args("DbMySqlSelect", f"unknown table {table!r} (known: device, property_device, "
                           "property_class, property, property_attribute_device, "
                           "property_attribute_class, server, attribute_alias, event)")
    return cols, rows


class _Parser:
    def __init__(self, text: str):
        self.toks, pos = [], 0
        text = text.strip().rstrip(";")
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                if text[pos:].strip() == "":
                    break
                raise bad_args("DbMySqlSelect", f"cannot parse SQL near {text[pos:pos + 30]!r}")
            kind = m.lastgroup
            val = m.group(kind)
            if kind == "str":
                val = val[1:-1].replace("''", "'").replace("\\'", "'").replace('\\"', '"')
            self.toks.append((kind, val))
            pos = m.end()
        self.i = 0

    def peek(self, *words: str) -> bool:
        if self.i >= len(self.toks):
            return False
        kind, val = self.toks[self.i]
        return kind in ("word", "op") and val.upper() in words

    def take(self, *words: str) -> str:
        if not self.peek(*words):
            got = self.toks[self.i][1] if self.i < len(self.toks) else "end of query"
            raise bad_args("DbMySqlSelect", f"expected {'/'.join(words)}, got {got!r}")
        self.i += 1
        return self.toks[self.i - 1][1]

    def next(self) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise bad_args("DbMySqlSelect", "query ends early")
        self.i += 1
        return self.toks[self.i - 1]


def _like(pattern: str):
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(rx, re.IGNORECASE | re.DOTALL).fullmatch


def _cond(p: _Parser, cols: list[str]):
    terms = [_term(p, cols)]
    ops = []
    while p.peek("AND", "OR"):
        ops.append(p.next()[1].upper())
        terms.append(_term(p, cols))
    # AND binds tighter than OR
    groups, cur = [], [terms[0]]
    for op, t in zip(ops, terms[1:]):
        if op == "AND":
            cur.append(t)
        else:
            groups.append(cur)
            cur = [t]
    groups.append(cur)
    return lambda row: any(all(t(row) for t in g) for g in groups)


def _col(p: _Parser, cols: list[str]) -> int:
    kind, name = p.next()
    name = name.split(".")[-1].lower()
    if kind != "word" or name not in cols:
        raise bad_args("DbMySqlSelect", f"unknown column {name!r} (columns: {', '.join(cols)})")
    return cols.index(name)


def _term(p: _Parser, cols: list[str]):
    if p.peek("NOT"):
        p.next()
        inner = _term(p, cols)
        return lambda row: not inner(row)
    if p.peek("("):
        p.next()
        inner = _cond(p, cols)
        p.take(")")
        return inner
    idx = _col(p, cols)
    if p.peek("IS"):
        p.next()
        neg = bool(p.peek("NOT")) and bool(p.next())
        p.take("NULL")
        return lambda row: (row[idx] is None) != neg
    neg = bool(p.peek("NOT")) and bool(p.next())
    op = p.take("=", "!=", "<>", "LIKE", "<", ">", "<=", ">=").upper()
    kind, lit = p.next()
    if kind not in ("str", "num"):
        raise bad_args("DbMySqlSelect", f"expected a literal after {op}, got {lit!r}")
    if op == "LIKE":
        m = _like(lit)
        return lambda row: row[idx] is not None and (m(str(row[idx])) is not None) != neg
    def cmp(row, op=op, lit=lit):
        v = row[idx]
        if v is None:
            return False
        a, b = (v, float(lit)) if isinstance(v, int) and kind == "num" else (str(v).lower(), lit.lower())
        return {"=": a == b, "!=": a != b, "<>": a != b, "<": a < b, ">": a > b,
                "<=": a <= b, ">=": a >= b}[op]
    return cmp


def select(store: TangoStore, query: str):
    """Evaluate one SELECT; returns (longs, strings) as DbMySqlSelect replies."""
    if ";" in query.strip().rstrip(";"):
        raise bad_args("DbMySqlSelect", "only one statement is allowed")
    p = _Parser(query if query.lstrip().lower().startswith("select") else "SELECT " + query)
    p.take("SELECT")
    distinct = bool(p.peek("DISTINCT")) and bool(p.next())
    names = []
    while True:
        kind, val = p.next()
        names.append(val)
        if not p.peek(","):
            break
        p.next()
    p.take("FROM")
    cols, rows = _rows(store, p.next()[1].lower())
    idx = list(range(len(cols))) if names == ["*"] else []
    if names != ["*"]:
        for n in names:
            n = n.split(".")[-1].lower()
            if n not in cols:
                raise bad_args("DbMySqlSelect", f"unknown column {n!r} (columns: {', '.join(cols)})")
            idx.append(cols.index(n))
    if p.peek("WHERE"):
        p.next()
        keep = _cond(p, cols)
        rows = [r for r in rows if keep(r)]
    if p.peek("ORDER"):
        p.next()
        p.take("BY")
        keys = []
        while True:
            c = _col(p, cols)
            desc = bool(p.peek("DESC")) and bool(p.next())
            if p.peek("ASC"):
                p.next()
            keys.append((c, desc))
            if not p.peek(","):
                break
            p.next()
        for c, desc in reversed(keys):
            rows.sort(key=lambda r, c=c: ("" if r[c] is None else str(r[c])), reverse=desc)
    if p.i < len(p.toks):
        raise bad_args("DbMySqlSelect", f"unsupported SQL from {p.toks[p.i][1]!r}: "
                       "only SELECT ... FROM ... [WHERE] [ORDER BY] is evaluated")
    out = [tuple(r[i] for i in idx) for r in rows]
    if distinct:
        out = list(dict.fromkeys(out))
    longs, strs = [], []
    for r in out:
        for v in r:
            longs.append(0 if v is None else 1)
            strs.append("" if v is None else str(v))
    return longs + [len(out), len(idx)], strs


__all__ = ["select", "DbError"]
