"""The scan arguments and JSON chains the ScanServer takes, built by core/scanning against
core objects (no Tango): the chain a description builds, and the messages a wrong one
gets, before anything moves."""

import json

import numpy as np
import pytest
from helpers.motion import forget_settings, mockup

from blisstango.core.counters import SimulationCounter, SimulationCounterController
from blisstango.core.scanning import StepMaster, TimerMaster
from blisstango.core.scanning.arguments import ScanArgumentError, build_standard_scan
from blisstango.core.scanning.chain_json import build_scan
from blisstango.core.scanning.preflight import check_limits, scan_axes
from blisstango.core.scanning.session_objects import SessionObjects, run_setup, setup_segments
from blisstango.servers.ScanServer.chain_build import PendingChain

pytestmark = pytest.mark.usefixtures("redis_servers")


@pytest.fixture
def session(scan_context, redis_servers):
    forget_settings(redis_servers.settings_url, ["ax", "ay"])   # axes named as a user types them
    ctrl = mockup(*[{"name": n, "velocity": 200.0, "acceleration": 20000.0, "steps_per_unit": 1000,
                     "low_limit": -5.0, "high_limit": 5.0} for n in ("ax", "ay")])
    ax, ay = ctrl.axes.values()
    sim = SimulationCounterController("psim")
    s = SessionObjects("parse")
    s.axes = {"ax": ax, "ay": ay}
    s.counters = {"c1": SimulationCounter("c1", axis=ax, center=1.0, controller=sim),
                  "c2": SimulationCounter("c2", curve="flat", background=3.0, controller=sim)}
    return s


def test_ascan_arguments_build_the_chain(session, scan_context):
    scan = build_standard_scan("ascan", ["ax", "0", "2", "4", "0.1", "c1", "title=my"], session, scan_context)
    top = scan.chain.top_masters[0]
    assert isinstance(top, StepMaster) and top.axes == [session.axes["ax"]]
    np.testing.assert_allclose(top.positions[0], [0, 0.5, 1, 1.5, 2])
    assert isinstance(top.slaves[0], TimerMaster) and top.slaves[0].count_time == 0.1
    assert scan.scan_info["title"] == "my" and scan.scan_info["npoints"] == 5
    assert scan_axes(scan) == [session.axes["ax"]]


@pytest.mark.parametrize("scan_type, args, message", [
    ("ascan", ["ax", "0"], "missing stop (argument 3)"),
    ("ascan", ["ax", "0", "1", "2", "0", "c9"], "unknown counter 'c9'; counters of session parse: c1, c2"),
    ("ascan", ["ax", "0", "1", "2", "-1", "c1"], "count time -1 must be >= 0"),
    ("ascan", ["ax", "0", "inf", "2", "0", "c1"], "stop 'inf' (argument 3) is not a finite number"),
    ("ascan", ["ax", "0", "1", "2", "0", "c1", "colour=red"], "unknown option 'colour'"),
    ("lookupscan", ["ax", "0,1", "ay", "1", "0", "c1"], "every axis needs as many positions: got [2, 1]"),
    ("pointscan", ["ax", "0,a", "0", "c1"], "is not a comma-separated list of numbers"),
    ("cscan", ["ax", "0", "1", "5", "0", "c1"], "scan time 0 must be > 0"),
    ("anscan", ["zz", "0", "1", "2", "0"], "unknown axis 'zz' (argument 1); axes of session parse: ax, ay"),
    ("pointscan", ["ax", "", "0", "c1"], "positions (argument 2) is empty"),
    ("pointscan", ["ax", "0.5", "c1"], "missing count time: 'c1' (argument 3) is a counter"),
    ("anscan", ["ax", "0", "ay", "0", "1", "2", "0"], "missing stop: 'ay' (argument 3) is an axis"),
    ("dnscan", ["ax", "0", "1", "ay", "0", "1", "2", "c1"], "missing count time: 'c1' (argument 8) is a counter"),
])
def test_bad_standard_arguments(session, scan_context, scan_type, args, message):
    with pytest.raises(ScanArgumentError) as err:
        build_standard_scan(scan_type, args, session, scan_context)
    assert message in str(err.value)
    assert f"(usage: {scan_type} " in str(err.value)


def test_limits_checked_before_the_scan(session, scan_context):
    scan = build_standard_scan("a2scan", ["ax", "0", "1", "ay", "0", "6", "2", "0", "c1"], session, scan_context)
    with pytest.raises(ScanArgumentError, match="ay: 6.0 is above the high limit 5.0"):
        check_limits(scan)


def test_json_chain_several_top_masters_and_presets(session, scan_context):
    desc = {"title": "two tops", "presets": [{"type": "sleep", "before": 0.001},
                                             {"type": "move", "before": {"ay": 1.0}}],
            "chain": [
                {"type": "step", "axes": [{"axis": "ax", "positions": [0, 1, 2]}], "children": [
                    {"type": "timer", "count_time": 0, "name": "t1", "children": [{"counters": ["c1"]}]}]},
                {"type": "timer", "count_time": 0, "npoints": 4, "name": "t2",
                 "children": [{"counters": ["c2"]}]}]}
    scan = build_scan(json.dumps(desc), session, scan_context)
    assert [type(t).__name__ for t in scan.chain.top_masters] == ["StepMaster", "TimerMaster"]
    assert scan_axes(scan) == [session.axes["ax"], session.axes["ay"]]
    scan.run()
    assert len(scan.get_data("axis:ax")) == 3 and len(scan.get_data("t2:elapsed_time")) == 4
    assert scan.get_data("c2").tolist() == [3.0] * 4
    assert abs(session.axes["ay"].position - 1.0) < 1e-3


@pytest.mark.parametrize("desc, message", [
    ("[1, 2", "scan description: malformed JSON"),
    ('["chain"]', "the description must be a JSON object"),
    ('{"chain": []}', "description: 'chain' must be a non-empty list"),
    ('{"chain": [{"type": "timer", "count_time": "x"}]}', "chain[0]: count_time 'x' is not a number"),
    ('{"chain": [{"type": "timer", "count_time": 0, "colour": 1}]}', "unknown key(s) ['colour']"),
    ('{"chain": [{"type": "step", "axes": [{"axis": "ax", "start": 0, "stop": 1, "intervals": 0}]}]}',
     "chain[0].axes[0]: intervals 0 must be >= 1"),
    ('{"chain": [{"type": "step", "axes": [{"axis": "ax", "positions": [0]}, '
     '{"axis": "ay", "positions": [0, 1]}]}]}', "every axis needs as many positions"),
    ('{"chain": [{"type": "timer", "count_time": 0}], "presets": ["nope"]}',
     "presets[0]: 'nope' is not a ScanPreset of session parse"),
    ('{"chain": [{"type": "timer", "count_time": 0}], "save": "yes"}', "'save' must be true or false"),
])
def test_bad_json_chains(session, scan_context, desc, message):
    with pytest.raises(ScanArgumentError) as err:
        build_scan(desc, session, scan_context)
    assert message in str(err.value)


def test_pending_chain_builds_the_runscan_description():
    p = PendingChain()
    with pytest.raises(ScanArgumentError, match="call ChainCreate first"):
        p.add_master('{"type": "timer"}')
    p.create("")
    top = p.add_master('{"type": "step", "axes": []}')
    p.add_master(json.dumps({"type": "timer", "count_time": 0, "parent": top, "id": "t"}))
    p.add_slave('{"parent": "t", "counters": ["c1"]}')
    with pytest.raises(ScanArgumentError, match="id 't' is already used"):
        p.add_master('{"type": "timer", "id": "t"}')
    d = p.description()
    assert d["chain"][0]["children"][0]["children"] == [{"counters": ["c1"], "type": "counters"}]


def test_setup_segments_keep_each_file_and_its_lines():
    text = "# --- /a/one.py\nx = 1\n\n# --- /a/two.py\ny = 2\nz = 3"
    assert setup_segments(text, ["/a/one.py", "/a/two.py"]) == [("/a/one.py", "x = 1\n\n"),
                                                               ("/a/two.py", "y = 2\nz = 3\n")]


def test_json_chain_messages_name_the_command(session, scan_context):
    with pytest.raises(ScanArgumentError, match=r"^RunScan: description: 'chain' must be a non-empty list"):
        build_scan('{"chain": []}', session, scan_context, "RunScan")


def test_python_session_scans_from_its_own_setup(scan_context, redis_servers):
    """No ScanServer: a session's own objects and setup file, then a standard scan."""
    forget_settings(redis_servers.settings_url, ["px"])
    px = mockup({"name": "px", "velocity": 200.0, "acceleration": 20000.0, "steps_per_unit": 1000}).axes["px"]
    s = SessionObjects("local")
    s.namespace["px"] = px
    s.setup_files = ["/setup/local.py"]
    s.setup_text = ("# --- /setup/local.py\n"
                    "from blisstango.core.counters import SimulationCounter, SimulationCounterController\n"
                    "det = SimulationCounter('det', axis=px, center=0.5, controller=SimulationCounterController('ls'))\n")
    run_setup(s)
    assert s.setup_error is None and s.axes == {"px": px} and list(s.counters) == ["det"]
    scan = build_standard_scan("ascan", ["px", "0", "1", "4", "0", "det"], s, scan_context)
    scan.run()
    np.testing.assert_allclose(scan.get_data("axis:px"), [0, 0.25, 0.5, 0.75, 1], atol=1e-3)
    assert scan.get_data("det").argmax() == 2


def test_setup_error_names_file_and_line():
    s = SessionObjects("broken")
    s.setup_files = ["/setup/a.py"]
    s.setup_text = "# --- /setup/a.py\nx = 1\ny = undefined_name\n"  # line 2 of the file itself
    run_setup(s)
    assert s.setup_error == "setup file /setup/a.py line 2: NameError: name 'undefined_name' is not defined"
