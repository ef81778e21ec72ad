"""What a Python object offers another process: its configuration, its public properties
and its public methods, each with a value type taken from the annotations.

The ObjectServer serves an object's interface as Tango attributes and commands; the
types come from the class's annotations, never from guessing at run time. A member whose
type cannot be carried (a parameter annotated with a class of its own, a missing
annotation) makes the interface refused as a whole, every such member named
(UnmappableMembers), so a beamline's controller never half-works.

Value types: bool, int, float, str, an Enum (its member names), dict (JSON text), and
list[...] / tuple[..., ...] / Sequence[...] of bool, int, float or str.
"""

from __future__ import annotations

import collections.abc
import enum
import inspect
import json
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any

_SCALARS = (bool, int, float, str)
_NAME = re.compile(r"[^A-Za-z0-9_]")
#: configuration keys that say how an object is built or served, not what it is
SKIPPED_KEYS = frozenset({"name", "plugin", "class", "tango"})
#: member names a Tango device has already
RESERVED = frozenset({"state", "status", "init"})


class UnmappableMembers(TypeError):
    """Members whose type has no transport; the message names each one."""

    def __init__(self, name: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{name}: {len(problems)} member(s) cannot be served: " + "; ".join(problems))


@dataclass(frozen=True)
class ValueType:
    """A value as it travels: one `base` (bool, int, float, str, dict = JSON, or an Enum
    class), or a sequence of them."""

    base: type
    sequence: bool = False

    @property
    def is_enum(self) -> bool:
        return isinstance(self.base, type) and issubclass(self.base, enum.Enum)

    @property
    def numeric(self) -> bool:
        return not self.sequence and self.base in (bool, int, float)

    def label(self) -> str:
        name = self.base.__name__
        return f"list[{name}]" if self.sequence else name

    def outgoing(self, value: Any) -> Any:
        """A Python value as it is sent: enum -> member name (index for attributes is the
        server's choice), dict -> JSON, sequences as lists."""
        if self.sequence:
            return [self._one_out(v) for v in value]
        return self._one_out(value)

    def _one_out(self, v: Any) -> Any:
        if self.is_enum:
            return v.name if isinstance(v, enum.Enum) else str(v)
        if self.base is dict:
            return json.dumps(v, default=str)
        if hasattr(v, "item"):   # numpy scalar
            v = v.item()
        return self.base(v)

    def incoming(self, value: Any) -> Any:
        """A received value as the object expects it."""
        if self.sequence:
            return [self._one_in(v) for v in value]
        return self._one_in(value)

    def _one_in(self, v: Any) -> Any:
        if self.is_enum:
            if isinstance(v, str):
                try:
                    return self.base[v]
                except KeyError:
                    raise ValueError(f"{v!r} is none of {', '.join(m.name for m in self.base)}") from None
            return list(self.base)[int(v)]
        if self.base is dict:
            return json.loads(v) if isinstance(v, str) else v
        if self.base is int and isinstance(v, float):
            if not v.is_integer():
                raise ValueError(f"{v!r} is not an integer")
            return int(v)
        return self.base(v)

    def from_text(self, text: str) -> Any:
        """A value given as text (one element of a string-array command argument)."""
        if self.sequence:
            try:
                items = json.loads(text)
            except ValueError:
                items = [t for t in text.split(",") if t.strip()]
            if not isinstance(items, list):
                items = [items]
            return [ValueType(self.base).from_text(i) if isinstance(i, str) else ValueType(self.base).incoming(i)
                     for i in items]
        if self.base is bool:
            word = text.strip().lower()
            if word in ("true", "1", "yes", "on"):
                return True
            if word in ("false", "0", "no", "off"):
                return False
            raise ValueError(f"{text!r} is not true or false")
        if self.base in (int, float):
            value = float(text) if self.base is float else _integer(text)
            return value
        return self.incoming(text)


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not value.is_integer():
            raise ValueError(f"{text!r} is not an integer") from None
        return int(value)


def value_type(annotation: Any) -> ValueType | None:
    """The ValueType of an annotation; None for None (nothing). TypeError: no transport."""
    if annotation is None or annotation is type(None):
        return None
    if annotation is inspect.Parameter.empty:
        raise TypeError("has no annotation")
    if annotation in _SCALARS or annotation is dict:
        return ValueType(annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return ValueType(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is dict:
        return ValueType(dict)
    if origin in (list, tuple, collections.abc.Sequence) and args:
        item = args[0]
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis) and len(set(args)) != 1:
            raise TypeError(f"{_text(annotation)} mixes types")
        if item in _SCALARS:
            return ValueType(item, sequence=True)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        raise TypeError(f"{_text(annotation)} may be None, which Tango cannot carry")
    raise TypeError(f"has type {_text(annotation)}, which has no Tango type")


def _text(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def value_type_of(value: Any) -> ValueType:
    """The type of a configuration value: scalars as they are, lists of one scalar kind
    (numbers together as float), anything else as JSON."""
    if isinstance(value, _SCALARS):
        return ValueType(type(value))
    if isinstance(value, list) and value:
        kinds = {type(v) for v in value}
        if kinds <= {int, float} and bool not in kinds:
            return ValueType(float if float in kinds else int, sequence=True)
        if len(kinds) == 1 and kinds <= set(_SCALARS):
            return ValueType(kinds.pop(), sequence=True)
    return ValueType(dict)


@dataclass(frozen=True)
class ConfigMember:
    name: str          # attribute name
    key: str           # configuration key
    value: Any
    type: ValueType


@dataclass(frozen=True)
class PropertyMember:
    name: str
    type: ValueType
    writable: bool
    doc: str = ""

    def read(self, obj: Any) -> Any:
        return self.type.outgoing(getattr(obj, self.name))

    def write(self, obj: Any, value: Any) -> None:
        setattr(obj, self.name, self.type.incoming(value))


@dataclass(frozen=True)
class Parameter:
    name: str
    type: ValueType
    default: Any = inspect.Parameter.empty

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


@dataclass(frozen=True)
class MethodMember:
    name: str
    parameters: tuple[Parameter, ...]
    returns: ValueType | None
    doc: str = ""

    def call(self, obj: Any, values: list[Any]) -> Any:
        """Call with the received values (converted, defaults for the missing trailing
        ones); the result as it is sent. ValueError naming the parameter otherwise."""
        if len(values) > len(self.parameters):
            raise ValueError(f"{self.name} takes {len(self.parameters)} argument(s) "
                             f"({', '.join(p.name for p in self.parameters)}), {len(values)} given")
        args = []
        for i, param in enumerate(self.parameters):
            if i >= len(values):
                if param.required:
                    raise ValueError(f"{self.name}: parameter {param.name!r} has no value")
                break
            try:
                args.append(param.type.incoming(values[i]))
            except (ValueError, TypeError, KeyError) as exc:
                raise ValueError(f"{self.name}: parameter {param.name!r}: {exc}") from None
        result = getattr(obj, self.name)(*args)
        return None if self.returns is None else self.returns.outgoing(result)


@dataclass
class ObjectInterface:
    """Everything an object offers, typed; `problems` empty when it can be served."""

    name: str
    config: list[ConfigMember] = field(default_factory=list)
    properties: list[PropertyMember] = field(default_factory=list)
    methods: list[MethodMember] = field(default_factory=list)


def attribute_name(key: str) -> str | None:
    """A configuration key as a Tango attribute name (None: none fits)."""
    name = _NAME.sub("_", str(key))
    if not name or not name[0].isalpha():
        return None
    return name


def _doc(obj: Any) -> str:
    return (inspect.getdoc(obj) or "").split("\n\n", 1)[0]


def _hints(fn: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception as exc:  # noqa: BLE001 - an annotation naming nothing known
        raise TypeError(f"annotations cannot be read: {exc}") from None


def interface(name: str, obj: Any, config: dict | None = None,
              members: list[str] | None = None) -> ObjectInterface:
    """The interface of obj: configuration keys (read-only), public properties and public
    methods of its class (members: only those names). UnmappableMembers naming every
    member whose type cannot be served."""
    out = ObjectInterface(name)
    problems: list[str] = []
    cls = type(obj)
    wanted = set(members) if members is not None else None
    taken: set[str] = set()
    if not isinstance(obj, dict):
        for member, value in inspect.getmembers(cls):
            if member.startswith("_") or (wanted is not None and member not in wanted):
                continue
            if member.lower() in RESERVED:
                problems.append(f"member {member!r}: the name of a Tango device's own {member.capitalize()}")
                continue
            if isinstance(value, property):
                try:
                    vtype = value_type(_hints(value.fget).get("return", inspect.Parameter.empty))
                    if vtype is None:
                        raise TypeError("returns None")
                except TypeError as exc:
                    problems.append(f"property {member!r} {exc}")
                    continue
                out.properties.append(PropertyMember(member, vtype, value.fset is not None, _doc(value)))
                taken.add(member.lower())
            elif inspect.isfunction(value) or inspect.ismethod(getattr(obj, member, None)) and callable(value):
                method = _method(member, getattr(obj, member), problems)
                if method is not None:
                    out.methods.append(method)
                    taken.add(member.lower())
        if wanted is not None:
            missing = sorted(wanted - {m.name for m in (*out.properties, *out.methods)} -
                             {p.split("'")[1] for p in problems if "'" in p})
            problems.extend(f"member {m!r}: no public property or method of {cls.__name__} has that name"
                            for m in missing)
    for key, value in (config or {}).items():
        attr = attribute_name(key)
        if key in SKIPPED_KEYS or str(key).startswith("__") or attr is None or attr.lower() in taken \
                or attr.lower() in RESERVED:
            continue
        out.config.append(ConfigMember(attr, key, value, value_type_of(value)))
        taken.add(attr.lower())
    if problems:
        raise UnmappableMembers(name, problems)
    return out


def _method(member: str, bound: Any, problems: list[str]) -> MethodMember | None:
    try:
        hints = _hints(bound)
        sig = inspect.signature(bound)
    except (TypeError, ValueError) as exc:
        problems.append(f"method {member!r}: {exc}")
        return None
    params = []
    ok = True
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY):
            if p.default is p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                problems.append(f"method {member!r}: parameter {p.name!r} ({p.kind.description}) cannot be sent")
                ok = False
            continue
        try:
            vtype = value_type(hints.get(p.name, p.empty))
            if vtype is None:
                raise TypeError("is annotated None")
        except TypeError as exc:
            problems.append(f"method {member!r}: parameter {p.name!r} {exc}")
            ok = False
            continue
        params.append(Parameter(p.name, vtype, p.default))
    try:
        returns = value_type(hints.get("return", sig.return_annotation))
    except TypeError as exc:
        problems.append(f"method {member!r}: its return value {exc}" if "no annotation" not in str(exc)
                        else f"method {member!r} has no return annotation (write -> None when it returns nothing)")
        ok = False
        returns = None
    return MethodMember(member, tuple(params), returns, _doc(bound)) if ok else None


__all__ = ["ConfigMember", "MethodMember", "ObjectInterface", "Parameter", "PropertyMember",
           "UnmappableMembers", "ValueType", "attribute_name", "interface", "value_type", "value_type_of"]
