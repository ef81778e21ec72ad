"""Unit tests of the shell's typing helper: command lines become calls, Python stays Python."""

from __future__ import annotations

import pytest

from blisstango.clients.itango_profile.typing_helper import (
    make_transformer,
    split_args,
    transform_line,
)


def _command(fn):
    fn._autocall = True
    return fn


class Axis:
    name = "m0"

    def move(self, pos):
        return pos


@_command
def wa():
    return None


def ascan(*args):
    return args


NS = {"ascan": ascan, "mv": ascan, "mvr": ascan, "lookupscan": ascan, "cen": ascan, "wa": wa,
      "m0": Axis(), "diode": object(), "pi": 3.14159, "x": 3, "print": print}


@pytest.mark.parametrize("line, expected", [
    ("ascan m0 0 10 20 0.1 diode", "ascan(m0, 0, 10, 20, 0.1, diode)"),
    ("mv m0 1", "mv(m0, 1)"),
    ("mv m0, 1", "mv(m0, 1)"),                        # commas are optional, not forbidden
    ("mvr m0 -1", "mvr(m0, -1)"),                      # a glued sign starts an argument
    ("mvr m0 - 1", "mvr(m0 - 1)"),                     # blanks around `-`: one expression
    ("ascan m0 0 2*pi 10 0.1", "ascan(m0, 0, 2*pi, 10, 0.1)"),
    ("ascan m0 0 2 * pi 10 0.1", "ascan(m0, 0, 2 * pi, 10, 0.1)"),
    ("lookupscan [(m0, [0, 1, 2])] 0.1 diode", "lookupscan([(m0, [0, 1, 2])], 0.1, diode)"),
    ("cen diode", "cen(diode)"),
    ("m0.move 3", "m0.move(3)"),                       # dotted callables too
    ("  mv m0 1", "  mv(m0, 1)"),                      # indentation kept
    ('print "a b"', 'print("a b")'),                   # strings stay one argument
    ("mv m0 f(1)", "mv(m0, f(1))"),
    ("wa", "wa()"),                                    # a bare shell command is called
])
def test_command_lines_become_calls(line, expected):
    assert transform_line(line, NS) == expected


@pytest.mark.parametrize("line", [
    "x = 1",                      # assignment
    "m0.velocity = 2",
    "a, b = 1, 2",
    "x * 2",                      # expression
    "ascan(m0, 0, 1, 2, 0.1)",    # a call with parentheses
    "wa()",
    "m0",                         # a bare object that is no command: displayed, not called
    "ascan",                      # a bare callable that is no shell command: displayed
    "print",
    "import os",
    "del x",
    "for i in range(3): pass",
    "%time mv m0 1",              # IPython syntax
    "!ls -l",
    "ascan?",
    "mv m0 1; wa",                # not a single command: left for Python to judge
    "unknown_name 1 2",           # not in the namespace: Python reports it
    "x 1",                        # not callable
    "",
    "# mv m0 1",
])
def test_python_and_ipython_lines_are_left_alone(line):
    assert transform_line(line, NS) == line


def test_split_args_respects_brackets_and_strings():
    assert split_args("m0 [1, 2] {'a': 1} 'x y'") == ["m0", "[1, 2]", "{'a': 1}", "'x y'"]
    assert split_args("m0 (1") is None


def test_transformer_only_touches_single_line_cells():
    tr = make_transformer(NS)
    assert tr(["mv m0 1\n"]) == ["mv(m0, 1)\n"]
    cell = ["def f():\n", "    mv m0 1\n"]
    assert tr(cell) == cell


def test_namespace_is_read_at_transform_time():
    ns = dict(NS)
    tr = make_transformer(ns)
    assert tr(["newcmd 1 2\n"]) == ["newcmd 1 2\n"]
    ns["newcmd"] = ascan
    assert tr(["newcmd 1 2\n"]) == ["newcmd(1, 2)\n"]
