"""One of each (issue 11): the shared pieces have no second copy in the code. Each rule
names the one module allowed to do the thing; a new server or client uses that module
(docs/api_contracts.md) instead of writing the thing again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CODE = ("core", "servers", "clients", "taurus_gui", "bench", "tests")


def python_files() -> dict[str, str]:
    out = {}
    for top in CODE:
        for path in (REPO / top).rglob("*.py"):
            rel = path.relative_to(REPO).as_posix()
            if "__pycache__" not in rel:
                out[rel] = path.read_text(encoding="utf-8", errors="replace")
    return out


FILES = python_files()
THIS = Path(__file__).relative_to(REPO).as_posix()

#: (what, regular expression, where it is looked for, files allowed to hold it)
RULES = [
    ("the Beacon device name (core.beacon.BEACON_DEVICE)", r"sys/beacon/1", CODE, {"core/beacon/__init__.py"}),
    ("a DevFailed made by hand (servers.errors)", r"throw_exception|DevFailed\(|DevError\(", CODE,
     {"servers/errors.py", "core/tangodb/errors.py"}),
    ("a device's object name from its alias (servers.config_object)", r"get_alias_from_device", CODE,
     {"servers/config_object.py", "clients/demo.py"}),
    ("a session loader (core.session, core.scanning.session_objects)", r"def load_session\b", CODE,
     {"core/scanning/session_objects.py"}),
    # benchmarks start their peers (a bare server, a reference loop) on purpose
    ("a long-lived child process (core.beacon.supervisor)", r"subprocess\.Popen\(|os\.fork\(",
     ("core", "servers", "clients", "taurus_gui"),
     {"clients/launcher/control.py",     # `up --detach`: the supervisor itself, in the background
      "clients/itango_profile/plot.py"}),  # the shell's plot window, a GUI of the user's
    ("a hand-made back-off (core.comm.backoff)", r"delay \*= 2|delay \* 2|2 \* delay",
     ("core", "servers", "clients", "taurus_gui"), {"core/comm/backoff.py"}),
    ("an isinstance test for one kind of axis (core.motion.protocol)", r"isinstance\([^)]*AxisProxy",
     ("core/scanning",), set()),
]


@pytest.mark.parametrize("what, pattern, scope, allowed", RULES, ids=[r[0].split(" (")[0] for r in RULES])
def test_no_second_copy(what, pattern, scope, allowed):
    rx = re.compile(pattern)
    found = sorted(f"{rel}:{n}" for rel, text in FILES.items()
                   if rel.startswith(tuple(f"{top}/" for top in scope)) and rel not in allowed
                   and not rel.startswith("tests/")
                   for n, line in enumerate(text.splitlines(), 1) if rx.search(line))
    assert not found, f"{what}: written again at {found}"


def test_tests_ask_the_stack_for_the_beacon_device():
    found = sorted(rel for rel, text in FILES.items() if rel.startswith("tests/") and rel != THIS
                   and "sys/beacon/1" in text)
    assert not found, f"tests naming the Beacon device instead of DemoStack.beacon() / BEACON_DEVICE: {found}"
