"""Fuzz values for Tango commands and attributes, one strategy per Tango type (hypothesis),
and the rule every answer must follow: success, or a DevFailed a person can act on.

Used by test_beacondb_malformed (the DB commands) and test_fuzz_servers (every command and
writable attribute of every device of the demo stack).
"""

from __future__ import annotations

import json
import math
import re

import tango
from hypothesis import strategies as st

T = tango.CmdArgType

#: Tango strings are Latin-1; short random text, names that look like Tango's own, huge ones
text = st.one_of(
    st.text(st.characters(max_codepoint=255), max_size=12),
    st.sampled_from(["", "*", "%", "/", "a/b", "a/b/c", "a/b/c/d", "-1", "0", "1", "2", "999999999",
                     "x" * 300, "tango://h:1/a/b/c", "dserver/x/y", "DataBaseds/2", "null", "'; --",
                     "nan", "inf", "-inf", "1e400", "no_such_name", "m0", "diode", "demo"]),
    st.builds(lambda unit, n: unit * n, st.sampled_from(["a", "a/", "*", "1"]),
              st.integers(10_000, 200_000)),  # huge strings
)

#: JSON-shaped strings: valid JSON of the wrong shape, malformed, deeply nested
json_text = st.one_of(
    st.sampled_from(["{", "{not json", "[1,", '{"a":', "{}", "[]", '""', "null", "1", "true", "NaN",
                     '{"chain": []}', '{"chain": [{"type": "warp"}]}', '{"chain": "x"}', '{"base_path": 1}',
                     '{"base_path": "/proc/no/such"}', "[" * 5000 + "]" * 5000, '{"x": ' * 3000 + "1" + "}" * 3000]),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
                 lambda kids: st.lists(kids, max_size=3) | st.dictionaries(text, kids, max_size=3),
                 max_leaves=6).map(json.dumps),
)

strings = st.one_of(text, json_text)

INT_RANGES = {
    T.DevShort: (-(2**15), 2**15 - 1), T.DevUShort: (0, 2**16 - 1), T.DevUChar: (0, 255),
    T.DevLong: (-(2**31), 2**31 - 1), T.DevULong: (0, 2**32 - 1),
    T.DevLong64: (-(2**63), 2**63 - 1), T.DevULong64: (0, 2**64 - 1),
}
ARRAY_OF = {
    T.DevVarShortArray: T.DevShort, T.DevVarUShortArray: T.DevUShort, T.DevVarCharArray: T.DevUChar,
    T.DevVarLongArray: T.DevLong, T.DevVarULongArray: T.DevULong, T.DevVarLong64Array: T.DevLong64,
    T.DevVarULong64Array: T.DevULong64, T.DevVarFloatArray: T.DevFloat,
    T.DevVarDoubleArray: T.DevDouble, T.DevVarStringArray: T.DevString, T.DevVarBooleanArray: T.DevBoolean,
}


def integers(t: T) -> st.SearchStrategy:
    lo, hi = INT_RANGES[t]
    return st.one_of(st.sampled_from([lo, hi, 0, -1 if lo < 0 else 1, 1]), st.integers(lo, hi))


def floats(t: T) -> st.SearchStrategy:
    width = 32 if t == T.DevFloat else 64
    return st.one_of(st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-300, 1e300, -1e300]),
                     st.floats(width=width))


def scalar(t: T) -> st.SearchStrategy:
    """Values of one Tango scalar type (as PyTango takes them)."""
    if t == T.DevBoolean:
        return st.booleans()
    if t in INT_RANGES:
        return integers(t)
    if t in (T.DevFloat, T.DevDouble):
        return floats(t)
    if t == T.DevString:
        return strings
    raise KeyError(t)


def arrays(element: T) -> st.SearchStrategy:
    """Empty, small and huge arrays of an element type."""
    huge = {T.DevString: "x", T.DevBoolean: True}.get(element, 1)
    return st.one_of(st.just([]), st.lists(scalar(element), max_size=6),
                     st.integers(100_000, 300_000).map(lambda n: [huge] * n))


def value_for(t: T) -> st.SearchStrategy:
    """The fuzz strategy for a command's argin or an attribute's written value of type t
    (KeyError: a type nobody wrote a strategy for — the coverage test names it)."""
    if t == T.DevVoid:
        return st.none()
    if t in ARRAY_OF:
        return arrays(ARRAY_OF[t])
    if t == T.DevVarLongStringArray:
        return st.tuples(arrays(T.DevLong), arrays(T.DevString))
    if t == T.DevVarDoubleStringArray:
        return st.tuples(arrays(T.DevDouble), arrays(T.DevString))
    return scalar(t)


def wrong_type(t: T) -> tango.DeviceData:
    """An argin of another type than t (cppTango must refuse it before the server's code)."""
    data = tango.DeviceData()
    if t == T.DevString:
        data.insert(T.DevLong, 7)
    else:
        data.insert(T.DevString, "7")
    return data


#: reasons that are a Python error escaping the server's code: a bug, never an answer
PYTHON_BUGS = {"PyDs_PythonError", "AttributeError", "NameError", "UnboundLocalError", "AssertionError",
               "ZeroDivisionError", "RecursionError", "UnicodeDecodeError", "UnicodeEncodeError",
               "JSONDecodeError", "StopIteration", "SystemError", "MemoryError"}
#: reasons core raises on purpose too (an unknown name, an unsupported call): an answer
#: when its desc is a sentence, a bug when it is Python's bare words ("'x'", "command")
LOOKUPS = {"KeyError", "IndexError", "TypeError", "OverflowError", "NotImplementedError", "RuntimeError"}

#: Python's own words for a failed conversion or unpacking: the server did not check its input
PYTHON_PHRASES = ("could not convert", "not enough values to unpack", "too many values to unpack",
                  "invalid literal for", "math domain error", "cannot convert float", "object is not",
                  "unsupported operand", "takes no arguments", "positional argument", "NoneType")


#: a Python traceback's own lines (a desc naming an attribute MaskFile "x" is not one)
TRACEBACK = re.compile(r'Traceback \(most recent call last\)|File "[^"\n]*", line \d+')


def unreadable(exc: tango.DevFailed) -> str:
    """Why a refusal is not one a person can act on ('' if it is)."""
    err = exc.args[0]
    if err.reason in PYTHON_BUGS or (err.reason in LOOKUPS and len(err.desc.split()) < 4):
        return f"bare Python error {err.reason}: {err.desc.strip()[:300]}"
    if any(p in err.desc for p in PYTHON_PHRASES):
        return f"Python's words, not the server's ({err.reason}): {err.desc.strip()[:300]}"
    if TRACEBACK.search(err.desc):
        return f"a traceback as desc: {err.desc.strip()[:300]}"
    if not err.desc.strip():
        return f"empty desc (reason {err.reason})"
    if err.reason in ("API_DeviceTimedOut", "API_CorbaException", "API_CantConnectToDevice"):
        return f"server did not answer ({err.reason}): {err.desc.strip()[:200]}"
    return ""


def short(value) -> str:
    """A value as a finding names it (huge ones by their size)."""
    r = repr(value)
    return r if len(r) <= 120 else f"{r[:60]}... ({len(r)} chars)"
