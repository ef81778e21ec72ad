"""RunProcedure's arguments: text turned into values without evaluating anything.

The texts are split as the shell's typing helper splits a command line
(core.command_line.split_args), so `["align_m0", "0.5 npoints=30"]` and
`["align_m0", "0.5", "npoints=30"]` are the same call. Each argument must be a value
(number, string, True/False/None, or a list/tuple/dict of them) or the name of a
session object, with `name=value` for keywords. Calls, attributes, subscripts and
operators are refused: no text from the network ever runs as code. A parameter's
annotation checks and converts its value (int, float, bool, str, list[...], ...); a
`str` parameter also takes a bare word. Every refusal names the procedure and the
parameter.
"""

from __future__ import annotations

import ast
import inspect
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..command_line import split_args
from .catalogue import Procedure

#: longest argument text accepted (a parser is no place for megabytes)
MAX_TEXT = 10_000
_KEYWORD = re.compile(r"^\s*([A-Za-z_]\w*)\s*=(?!=)\s*(.*?)\s*$", re.S)
_WORD = re.compile(r"^[\w.\-/:+@%]+$")
_BUILTIN_TYPES = {"float": float, "int": int, "bool": bool, "str": str, "list": list, "tuple": tuple,
                  "dict": dict}
_TRUE, _FALSE = {"true", "yes", "on"}, {"false", "no", "off"}


class ProcedureArgumentError(ValueError):
    """A procedure call refused before anything ran (unknown procedure, an argument that
    does not fit the signature, text that is not a value); the message names the
    procedure and the parameter."""


@dataclass
class BoundCall:
    """A procedure with its arguments converted, ready to run."""

    procedure: Procedure
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """`align_m0(m0, width=1.0)`: objects by name, values as Python writes them."""
        parts = [show(a) for a in self.args] + [f"{k}={show(v)}" for k, v in self.kwargs.items()]
        return f"{self.procedure.name}({', '.join(parts)})"


def show(value: Any) -> str:
    """A value as an argument text reads it back (bind): objects by name, Python literals
    (numpy arrays and numbers as lists and numbers). The shell sends its arguments so."""
    name = getattr(value, "name", None)
    if isinstance(name, str) and not isinstance(value, (str, bytes)):
        return name
    if isinstance(value, (list, tuple)):
        inner = ", ".join(show(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{show(k)}: {show(v)}" for k, v in value.items()) + "}"
    if type(value).__module__ == "numpy":   # ndarray -> list, numpy scalar -> int/float/bool
        return show(value.tolist() if hasattr(value, "shape") and value.shape else value.item())
    return repr(value)


class _NotAValue(Exception):
    pass


class _UnknownName(Exception):
    pass


def _value(node: ast.AST, objects: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    if isinstance(node, ast.List):
        return [_value(e, objects) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_value(e, objects) for e in node.elts)
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        return {_value(k, objects): _value(v, objects) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Name):
        if node.id in objects:
            return objects[node.id]
        raise _UnknownName(node.id)
    raise _NotAValue(type(node).__name__)


def parse_value(text: str, objects: Mapping[str, Any]) -> Any:
    """The value an argument text stands for: a literal or a session object (by name).
    Raises _NotAValue / _UnknownName (callers turn them into ProcedureArgumentError)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        raise _NotAValue("text") from None
    return _value(tree.body, objects)


def _hints(procedure: Procedure) -> dict[str, Any]:
    """Annotations as types: typing.get_type_hints (the session's own code, resolved in its
    namespace), else the plain annotations with builtin names resolved."""
    try:
        return typing.get_type_hints(procedure.function)
    except Exception:  # noqa: BLE001 - an annotation naming something unknown: use what is plain
        raw = getattr(procedure.function, "__annotations__", {})
        return {k: _BUILTIN_TYPES.get(v, v) if isinstance(v, str) else v for k, v in raw.items()}


def _fit(value: Any, annotation: Any, text: str) -> Any:
    """value converted to annotation; raises TypeError with the reason."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return value
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _fit(value, option, text)
            except TypeError as exc:
                errors.append(str(exc))
        raise TypeError(" or ".join(errors))
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise TypeError(f"expects a number, got {show(value)}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise TypeError(f"expects an integer, got {show(value)}")
    if annotation is bool:
        if isinstance(value, bool):
            return value
        word = text.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise TypeError(f"expects true or false, got {show(value)}")
    if annotation is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return text.strip()
        raise TypeError(f"expects text, got {show(value)} (quote it)")
    container = origin or annotation
    if container in (list, tuple, set, frozenset) or container in (typing.Sequence, Sequence):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expects a list, got {show(value)}")
        item = args[0] if args and (len(args) == 1 or (len(args) == 2 and args[1] is Ellipsis)) else None
        items = [_fit(v, item, repr(v)) for v in value] if item is not None else list(value)
        return tuple(items) if container is tuple else items
    if container is dict:
        if not isinstance(value, dict):
            raise TypeError(f"expects a dict, got {show(value)}")
        return value
    return value  # a class of the session (an axis type...): the object is checked by its use


def _convert(name: str, param: inspect.Parameter, annotation: Any, text: str,
             objects: Mapping[str, Any], session: str) -> Any:
    where = f"{name}: parameter {param.name!r}"
    try:
        value = parse_value(text, objects)
    except _UnknownName as exc:
        if annotation is str and _WORD.match(text.strip()):
            return text.strip()
        known = ", ".join(sorted(objects)) or "none"
        raise ProcedureArgumentError(f"{where}: {exc.args[0]!r} is not an object of session {session} "
                                     f"(objects: {known}); quote it for text") from None
    except _NotAValue as exc:
        if annotation is str and _WORD.match(text.strip()):
            return text.strip()
        what = "text that is not a value" if exc.args[0] == "text" else f"code ({exc.args[0]})"
        raise ProcedureArgumentError(f"{where}: {text.strip()!r} is {what}: only numbers, quoted strings, "
                                     "True/False/None, lists/tuples/dicts of them and session object "
                                     "names are accepted") from None
    try:
        return _fit(value, annotation, text)
    except TypeError as exc:
        raise ProcedureArgumentError(f"{where} {exc}") from None


def bind(procedure: Procedure, texts: Sequence[str], objects: Mapping[str, Any], session: str = "") -> BoundCall:
    """The call the texts describe, checked against the procedure's signature."""
    name, usage = procedure.name, procedure.usage()
    pieces: list[str] = []
    for text in texts:
        if len(text) > MAX_TEXT:
            raise ProcedureArgumentError(f"{name}: an argument of {len(text)} characters is refused "
                                         f"(at most {MAX_TEXT})")
        if not text.strip():
            continue
        parts = split_args(text)
        if parts is None:
            raise ProcedureArgumentError(f"{name}: argument {text.strip()!r} cannot be read (unbalanced "
                                         "brackets or quotes)")
        pieces.extend(parts)
    params = list(procedure.signature.parameters.values())
    P = inspect.Parameter
    positional = [p for p in params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    var_pos = next((p for p in params if p.kind is P.VAR_POSITIONAL), None)
    var_kw = next((p for p in params if p.kind is P.VAR_KEYWORD), None)
    by_name = {p.name: p for p in params if p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)}
    hints = _hints(procedure)
    call = BoundCall(procedure)
    assigned: set[str] = set()
    for piece in pieces:
        keyword = _KEYWORD.match(piece)
        if keyword and keyword.group(2):
            key, text = keyword.groups()
            param = by_name.get(key) or var_kw
            if param is None:
                raise ProcedureArgumentError(f"{name}: no parameter named {key!r} ({usage})")
            if key in assigned:
                raise ProcedureArgumentError(f"{name}: parameter {key!r} is given twice ({usage})")
            call.kwargs[key] = _convert(name, param if param is not var_kw else P(key, P.KEYWORD_ONLY),
                                        hints.get(param.name, P.empty), text, objects, session)
            assigned.add(key)
            continue
        if call.kwargs:
            raise ProcedureArgumentError(f"{name}: positional argument {piece.strip()!r} after keyword "
                                         f"arguments ({usage})")
        index = len(call.args)
        if index < len(positional):
            param = positional[index]
            assigned.add(param.name)
        elif var_pos is not None:
            param = var_pos
        else:
            raise ProcedureArgumentError(
                f"{name}: takes {len(positional)} positional argument(s) "
                f"({', '.join(p.name for p in positional) or 'none'}); argument {index + 1} "
                f"{piece.strip()!r} has no parameter ({usage})")
        call.args.append(_convert(name, param, hints.get(param.name, P.empty), piece, objects, session))
    for p in params:
        if p.default is P.empty and p.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD) and p.name not in assigned:
            raise ProcedureArgumentError(f"{name}: parameter {p.name!r} has no value ({usage})")
    return call


__all__ = ["BoundCall", "ProcedureArgumentError", "bind", "parse_value", "show"]
