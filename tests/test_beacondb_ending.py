"""BeaconDB says why it ended: cppTango ends a server with exit code 0 on SIGINT, SIGTERM,
SIGQUIT (anyone's: a supervisor, kill, a stray pkill) and on its admin device's Kill,
silently by itself; the log names which (servers/BeaconDB/ending.py)."""

from __future__ import annotations

import signal

import pytest
import tango
from helpers.tango_db import BeaconDBProcess


@pytest.mark.e2e
@pytest.mark.parametrize("how", ["SIGTERM", "Kill"])
def test_beacondb_logs_why_it_ends(tmp_path, how):
    db = BeaconDBProcess(tmp_path / "beacondb").start()
    proc = db.proc
    try:
        if how == "Kill":
            admin = tango.DeviceProxy(f"tango://{db.tango_host}/dserver/DataBaseds/2")
            admin.command_inout("Kill")
        else:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        db.stop()
    log = db.log_tail()
    if how == "Kill":
        assert "no ending signal: its admin device dserver/DataBaseds/2 was sent Kill" in log, log
    else:
        assert f"(pid {proc.pid}): SIGTERM received" in log, log
        assert "Tango server loop ended (SIGTERM received); exit code 0" in log, log
