"""A Taurus TaurusForm (PyQt5, offscreen, its own process) on an axis served by
AxisManager through BeaconDB shows the live position with its unit during a move: with
the devices registered through the Tango API, and with BeaconDB serving the YAML tree
(--config), where the unit comes from the attribute properties it derives from the YAML."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.axis_e2e import axis_stack, config_stack

pytestmark = pytest.mark.e2e

CHILD = Path(__file__).parent / "helpers" / "taurus_form_child.py"


@pytest.fixture(scope="module")
def demo_config():
    from conftest import DEMO_CONFIG

    return DEMO_CONFIG


def read_until(child: subprocess.Popen, text: str, timeout: float) -> list[dict]:
    """The child's lines up to the first showing `text` (it prints only changes)."""
    shown: list[dict] = []
    deadline = time.monotonic() + timeout
    while not shown or shown[-1]["text"] != text:
        line = child.stdout.readline()
        assert line and time.monotonic() < deadline, f"form never showed {text}: {shown}"
        shown.append(json.loads(line))
    return shown


@pytest.mark.parametrize("database", ["registered", "yaml"])
def test_taurus_form_shows_live_position_with_unit(database, demo_config, tmp_path, request):
    if database == "yaml":
        stack = config_stack(demo_config, tmp_path)
    else:
        stack = axis_stack(demo_config, tmp_path, request.getfixturevalue("redis_servers").settings_url)
    with stack as (server, _):
        model = f"tango://{server.tango_host}/demo/axis/m0/Position"
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        child = subprocess.Popen([sys.executable, str(CHILD), model, "300"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        try:
            shown = read_until(child, "0.000", 120)     # connected, value displayed
            server.proxy("m0").Velocity = 1.0           # a 1.6 s move: many events, even under load
            server.proxy("m0").Position = 1.5
            shown += read_until(child, "1.500", 120)    # followed to the end of the move
            child.stdin.close()
            child.wait(30)
        finally:
            server.proxy("m0").Velocity = 5.0            # the demo's, for the tests after
            if child.poll() is None:
                child.kill()
                child.wait()
    assert (shown[-1]["text"], shown[-1]["unit"]) == ("1.500", "mm")
    intermediate = [float(s["text"]) for s in shown if s["text"] not in ("0.000", "1.500", "-----")]
    assert len(intermediate) >= 3  # the form followed the motion, pushed by events
