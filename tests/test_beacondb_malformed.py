"""Every DB command fed malformed arguments answers a DevFailed with a clear reason, and
BeaconDB stays up (property-based: hypothesis draws commands and arguments)."""

from __future__ import annotations

import pytest
import tango
from helpers.tango_db import BeaconDBProcess
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blisstango.core.tangodb.registry import STR, STRS, command_table

pytestmark = pytest.mark.e2e

COMMANDS = command_table()

text = st.one_of(
    st.text(st.characters(max_codepoint=255), max_size=12),  # Tango strings are Latin-1
    st.sampled_from(["", "*", "%", "/", "a/b", "a/b/c", "a/b/c/d", "-1", "0", "1", "2", "999999999",
                     "x" * 300, "tango://h:1/a/b/c", "dserver/x/y", "DataBaseds/2", "null", "'; --"]),
    st.builds(lambda unit, n: unit * n, st.sampled_from(["a", "a/", "*", "1"]),
              st.integers(10_000, 200_000)),  # huge strings
)
arguments = st.one_of(text, st.lists(text, max_size=9))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = BeaconDBProcess(tmp_path_factory.mktemp("malformed")).start()
    yield db
    db.stop()


def _send(db: tango.Database, name: str, arg):
    spec = COMMANDS[name]
    if spec.dtype_in is None:
        return db.command_inout(name)
    if spec.dtype_in == STR and isinstance(arg, list):
        arg = arg[0] if arg else ""
    if spec.dtype_in == STRS and isinstance(arg, str):
        arg = [arg]
    return db.command_inout(name, arg)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(sorted(COMMANDS)), arg=arguments)
def test_malformed_arguments_give_clear_devfailed(server, name, arg):
    db = tango.Database("127.0.0.1", server.port)
    try:
        _send(db, name, arg)
    except tango.DevFailed as e:
        err = e.args[0]
        assert err.reason.startswith(("DB_", "API_CommandNotImplemented")), (name, err)
        assert err.desc.strip(), (name, err)
    assert server.proc.poll() is None
    assert db.command_inout("DbInfo")[0].startswith("TANGO Database")


@pytest.mark.parametrize("name", sorted(n for n, c in COMMANDS.items() if c.dtype_in))
def test_wrong_argument_type_is_refused(server, name):
    db = tango.Database("127.0.0.1", server.port)
    data = tango.DeviceData()
    data.insert(tango.CmdArgType.DevLong, 7)
    with pytest.raises(tango.DevFailed) as info:
        db.command_inout_raw(name, data)
    assert info.value.args[0].reason == "API_IncompatibleCmdArgumentType"
    assert db.command_inout("DbInfo")[0].startswith("TANGO Database")
