"""ScanServer with a broken setup file. (A server killed mid-scan: tests/test_kill9_matrix.py.)"""

import json

import pytest
import tango
from helpers.demo_stack import DemoStack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_setup_file_error_is_reported_and_scans_still_work(tmp_path, demo_config):
    s = DemoStack(tmp_path, demo_config)
    setup = s.config / "sessions" / "demo_setup.py"
    setup.write_text(setup.read_text() + "x = 1\nundefined_name + 1\n")
    lines = setup.read_text().count("\n")
    try:
        s.up()
        dev = s.device("demo/scan/demo", timeout_ms=60000)
        assert dev.state() == tango.DevState.ALARM
        status = dev.status()
        assert "demo_setup.py" in status and f"line {lines}" in status and "NameError" in status
        n = dev.loopscan(["2", "0", "diode"])
        assert dev.WaitScan(30)
        assert json.loads(dev.ScanInfo)["end_reason"] == "SUCCESS" and n >= 1
        assert dev.state() == tango.DevState.ON
    finally:
        s.down()
