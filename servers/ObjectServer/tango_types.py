"""core.objects value types as Tango data types (attributes and command arguments)."""

from __future__ import annotations

from typing import Any

import tango

from blisstango.core.objects.members import ValueType

_SCALAR = {bool: tango.DevBoolean, int: tango.DevLong64, float: tango.DevDouble, str: tango.DevString,
           dict: tango.DevString}
_ARRAY = {bool: tango.DevVarBooleanArray, int: tango.DevVarLong64Array, float: tango.DevVarDoubleArray,
          str: tango.DevVarStringArray, dict: tango.DevVarStringArray}


def attribute_type(vt: ValueType) -> Any:
    """Tango type of an attribute's element (spectrum or scalar is the attribute's format)."""
    if vt.is_enum:
        return tango.DevEnum if not vt.sequence else tango.DevString
    return _SCALAR[vt.base]


def command_type(vt: ValueType | None) -> Any:
    """Tango type of a command argument or result (enums travel as member names)."""
    if vt is None:
        return tango.DevVoid
    base = str if vt.is_enum else vt.base
    return _ARRAY[base] if vt.sequence else _SCALAR[base]


def attribute_value(vt: ValueType, value: Any) -> Any:
    """What read_attribute gives for a value the object returned (sent form: ValueType.outgoing)."""
    if vt.is_enum and not vt.sequence:
        return [m.name for m in vt.base].index(value)
    return value
