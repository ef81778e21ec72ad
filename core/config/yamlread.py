"""Fast YAML reading that remembers where every mapping, key and list item was written.

ruamel's round-trip loader is pure Python and about ten times slower than libyaml, so
reading the tree uses PyYAML's C parser (CSafeLoader) with a constructor that records
1-based line numbers; ruamel round-trip is kept for writes only (writer.py).
"""

from __future__ import annotations

import re

import yaml

from .errors import ConfigError

_REF = re.compile(r"^\$[A-Za-z0-9_][\w.\-]*$")  # a `$name` reference

try:
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml: slower, same results
    _BaseLoader = yaml.SafeLoader


class LMap(dict):
    """A mapping read from YAML: ``line`` of its first key, ``key_lines`` per key."""

    __slots__ = ("line", "key_lines")


class LList(list):
    """A sequence read from YAML: ``line`` of the sequence, ``item_lines`` per item."""

    __slots__ = ("line", "item_lines")


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_plain_tags: dict[str, str] = {}  # plain scalar text -> resolved tag
#: YAML 1.2 floats that YAML 1.1 (PyYAML's resolver) reads as strings: an exponent
#: without a dot, `1e+300`, as ruamel (the writer) and YAML 1.2 tools write them
_FLOAT_12 = re.compile(r"^[-+]?[0-9]+[eE][-+]?[0-9]+$")


class _LineLoader(_BaseLoader):
    """libyaml parses and composes; plain scalars' tags are resolved through a cache.

    The tree uses no path resolvers, so the per-node hooks are no-ops: libyaml calls
    them for every node and they cost a third of the composing time otherwise.
    """

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR
            tag = _plain_tags.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if tag == _STR and _FLOAT_12.match(value):
                    tag = _FLOAT
                if len(_plain_tags) > 200_000:
                    _plain_tags.clear()
                _plain_tags[value] = tag
            return tag
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def descend_resolver(self, current_node, current_index):
        pass

    def ascend_resolver(self):
        pass


class _Restart(Exception):
    """A merge key was met: the mapping is flattened and built again."""


class _Builder:
    """Turns composed nodes into LMap/LList/scalars.

    A direct recursive walk: PyYAML's generic constructor machinery (generators,
    per-object bookkeeping) costs most of the load time of a large tree.
    """

    def __init__(self, loader: _LineLoader, collect: bool = False):
        self.loader = loader
        self.problems: list[tuple[int, str]] = []
        self.memo: dict[int, object] = {}
        # With collect, the tree's objects and references are noted while building,
        # which spares the loader a second walk over every value:
        self.collect = collect
        self.objects: list[tuple[LMap, int]] = []  # (mapping with a name, owner index)
        self.refs: list[tuple[str, int, int]] = []  # (target, line, owner index)
        self.owner = -1  # index in objects of the innermost enclosing object
        # An alias of a node holding objects would define them twice: spans records which
        # objects each built container holds, reused the aliased ones (see _alias_problems).
        self.spans: dict[int, tuple[int, int]] = {}
        self.reused: dict[int, object] = {}

    def build(self, node):
        cls = node.__class__
        if cls is yaml.ScalarNode:
            tag = node.tag
            value = node.value
            if tag == _STR:
                if self.collect and value[:1] == "$" and _REF.match(value):
                    self.refs.append((value[1:], node.start_mark.line + 1, self.owner))
                return value
            if tag == _INT and value.isdigit():
                return int(value)
            if tag == _FLOAT:
                try:
                    return float(value)
                except ValueError:
                    pass
            elif tag == _NULL:
                return None
            elif tag == _BOOL:
                return value.lower() in ("yes", "true", "on")
            return self.loader.construct_object(node, deep=True)
        done = self.memo.get(id(node))
        if done is not None:  # an alias of a node already built
            if id(node) in self.spans:
                self.reused[id(node)] = node
            return done
        if cls is yaml.MappingNode:
            if node.tag != _MAP:
                return self.loader.construct_object(node, deep=True)
            return self._map(node)
        if cls is yaml.SequenceNode:
            if node.tag != _SEQ:
                return self.loader.construct_object(node, deep=True)
            data = LList()
            self.memo[id(node)] = data
            data.line = node.start_mark.line + 1
            data.item_lines = [n.start_mark.line + 1 for n in node.value]
            first = len(self.objects)
            data.extend([self.build(n) for n in node.value])
            if self.collect and len(self.objects) > first:
                self.spans[id(node)] = (first, len(self.objects))
            return data
        return self.loader.construct_object(node, deep=True)

    def _map(self, node, merged: int = 0, merge_line: int = 0) -> LMap:
        """A mapping; its first `merged` pairs come from `<<` merge keys (overridable),
        written at merge_line."""
        data = LMap()
        self.memo[id(node)] = data
        data.line = node.start_mark.line + 1
        key_lines: dict = {}
        data.key_lines = key_lines
        own_keys: set = set()
        scalar = yaml.ScalarNode
        outer = self.owner
        marks = (len(self.objects), len(self.refs), len(self.memo))
        if self.collect:
            for key_node, value_node in node.value:
                if key_node.value == "name" and key_node.__class__ is scalar:
                    if not (value_node.__class__ is scalar and value_node.tag == _STR
                            and _REF.match(value_node.value)):
                        self.objects.append((data, outer))
                        self.owner = len(self.objects) - 1
                    break
        try:
            self._fill(node, data, key_lines, own_keys, merged, merge_line)
            if self.collect and len(self.objects) > marks[0]:
                self.spans[id(node)] = (marks[0], len(self.objects))
            return data
        except _Restart:
            del self.objects[marks[0]:]
            del self.refs[marks[1]:]
            for built in list(self.memo)[marks[2]:]:  # built again, not aliases
                del self.memo[built]
                self.spans.pop(built, None)
                self.reused.pop(built, None)
            self.owner = outer
            own = sum(1 for k, _ in node.value if k.tag != _MERGE)
            merge_line = next(k.start_mark.line + 1 for k, _ in node.value if k.tag == _MERGE)
            self.loader.flatten_mapping(node)
            return self._map(node, len(node.value) - own, merge_line)
        finally:
            self.owner = outer

    def _fill(self, node, data: LMap, key_lines: dict, own_keys: set, merged: int,
              merge_line: int) -> LMap:
        scalar = yaml.ScalarNode
        for index, (key_node, value_node) in enumerate(node.value):
            tag = key_node.tag
            if tag == _STR and key_node.__class__ is scalar:
                key = key_node.value  # the usual key: a plain string
            elif tag == _MERGE:  # `<<: *anchor`: flatten, then build it again
                raise _Restart
            else:
                key = self.build(key_node)
            line = key_node.start_mark.line + 1
            try:
                seen = key in key_lines
            except TypeError:
                self.problems.append((line, f"unhashable mapping key {key!r}"))
                continue
            if merged:
                if index < merged:
                    seen = False
                    span = self.spans.get(id(value_node))
                    if span is not None:  # a merged-in value holding objects
                        self.problems.append((merge_line, _reuse_message(
                            self.objects[span[0]:span[1]], "the merge key '<<'")))
                else:
                    seen = seen and key in own_keys
                    own_keys.add(key)
            if seen:
                self.problems.append(
                    (line, f"duplicate key {key!r} (first written at line {key_lines[key]})"))
            key_lines[key] = line
            data[key] = self.build(value_node)
        return data


def _reuse_message(objects: list, how: str) -> str:
    """The duplicate-name error of YAML that repeats objects through an alias."""
    first = objects[0][0]
    line = first.key_lines.get("name", first.line)
    if len(objects) == 1:
        return (f"duplicate object name {first['name']!r}: {how} repeats the object "
                f"defined at line {line}; an object is defined once (refer to it as "
                f"'${first['name']}', or copy the mapping under a new name)")
    names = [f"{data['name']!r}" for data, _ in objects]
    listed = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return (f"duplicate object names {listed}: {how} repeats the objects defined from "
            f"line {line}; an object is defined once (refer to them as '$name' "
            f"references, or copy the mappings under new names)")


def _alias_events(text: str) -> list[tuple[int, str, int]]:
    """(position of the aliased node, anchor, 1-based line) of each alias that is not a
    `<<` merge value, in document order. Composed nodes forget where their aliases were
    written, so the rare document that aliases an object is parsed again for them."""
    loader = _BaseLoader(text)
    anchors: dict[str, int] = {}
    out = []
    stack: list[list] = []  # per open collection: [is_mapping, children, merge_value_next]
    try:
        while loader.check_event():
            ev = loader.get_event()
            frame = stack[-1] if stack else None
            merging = frame is not None and frame[2]
            if isinstance(ev, yaml.CollectionEndEvent):
                stack.pop()
                if stack and stack[-1][0]:
                    stack[-1][2] = False
                continue
            if not isinstance(ev, yaml.NodeEvent):
                continue
            if isinstance(ev, yaml.AliasEvent):
                if not merging and ev.anchor in anchors:
                    out.append((anchors[ev.anchor], ev.anchor, ev.start_mark.line + 1))
            elif ev.anchor is not None:
                anchors[ev.anchor] = ev.start_mark.index
            key_slot = frame is not None and frame[0] and frame[1] % 2 == 0
            if frame is not None:
                frame[1] += 1
                if frame[0]:
                    frame[2] = key_slot and isinstance(ev, yaml.ScalarEvent) \
                        and ev.value == "<<" and ev.implicit[0]
            if isinstance(ev, yaml.CollectionStartEvent):
                is_map = isinstance(ev, yaml.MappingStartEvent)
                stack.append([is_map, 0, merging and not is_map])
    finally:
        loader.dispose()
    return out


def read_yaml(text: str, file: str) -> tuple[object, list[ConfigError]]:
    """Parse one file's text; returns (data, problems). Data is None on a syntax error."""
    data, problems, _ = read_collecting(text, file, collect=False)
    return data, problems


def read_collecting(text: str, file: str, collect: bool = True):
    """(data, problems, builder): builder.objects and builder.refs list, in document
    order, the mappings with a `name` and the `$references` (see _Builder)."""
    loader = _LineLoader(text)
    builder = _Builder(loader, collect)
    try:
        node = loader.get_single_node()
        data = builder.build(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "syntax error"
        col = f" (column {mark.column + 1})" if mark is not None else ""
        ctx = exc.context_mark
        if exc.context and ctx is not None and mark is not None and ctx.line != mark.line:
            col += f", {exc.context} started at line {ctx.line + 1}"
        return None, [ConfigError(f"YAML syntax error: {what}{col}", file, line)], None
    except yaml.YAMLError as exc:
        return None, [ConfigError(f"YAML error: {exc}", file, None)], None
    finally:
        loader.dispose()
    if builder.reused:
        _alias_problems(text, builder)
    return data, [ConfigError(msg, file, line) for line, msg in builder.problems], builder


def _alias_problems(text: str, builder: _Builder) -> None:
    """A duplicate-name problem at each alias of a node that holds objects."""
    spans = {node.start_mark.index: builder.spans[key] for key, node in builder.reused.items()}
    for position, anchor, line in _alias_events(text):
        span = spans.get(position)
        if span is not None:
            builder.problems.append((line, _reuse_message(
                builder.objects[span[0]:span[1]], f"the alias *{anchor}")))


def plain(value):
    """A deep copy made of builtin dict/list only (no line bookkeeping)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
