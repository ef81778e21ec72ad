"""The scientist's shell, scan part: scans typed in a real `blisstango shell -s demo`
are run by the session's ScanServer, shown live, written by the NexusWriter."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

pytestmark = pytest.mark.timeout(300)

ROW = re.compile(r"^\s+(\d+)((?:\s+-?\d+\.\d+)+)\s*$", re.M)


def _rows(out: str) -> list[list[float]]:
    return [[float(v) for v in m[2].split()] for m in ROW.finditer(out)]


def _scan_key(out: str) -> str:
    return re.search(r"\(key (\S+)\)", out)[1]


def _file_points(path: Path, number: int, channel: str, n: int, timeout: float = 20.0) -> np.ndarray:
    """The channel's points once the NexusWriter has written n of them."""
    deadline = time.monotonic() + timeout
    data = np.array([])
    while time.monotonic() < deadline:
        try:
            with h5py.File(path, "r", locking=False) as f:
                entry = f"{number}.1/measurement/{channel}"
                if entry in f:
                    data = f[entry][()]
                    if len(data) >= n:
                        return data
        except (OSError, KeyError):
            pass
        time.sleep(0.3)
    return data


@pytest.fixture
def saving_shell(shell, tmp_path):
    """The shell with SCAN_SAVING.base_path set (from the shell) to a folder of the test."""
    base = tmp_path / "data"
    base.mkdir()
    shell.run(f"SCAN_SAVING.base_path = {str(base)!r}")
    shell.base_path = base
    return shell


def test_scan_saving_is_readable_and_writable(saving_shell):
    out = saving_shell.run("SCAN_SAVING")
    assert re.search(rf"base_path\s+= '{re.escape(str(saving_shell.base_path))}'", out), out
    assert re.search(r"filename\s+= '.*\.h5'", out)
    saving_shell.run("SCAN_SAVING.data_filename = 'shelltest'")
    assert "shelltest" in saving_shell.run("SCAN_SAVING.filename")


def test_active_measurement_group_shown_and_changeable(shell):
    out = shell.run("ACTIVE_MG")
    current = re.search(r"active measurement group: (\S+)", out)[1]
    assert current
    out = shell.run("ACTIVE_MG.set('no_such_group')")
    lines = [ln for ln in out.splitlines() if ln.strip() and not ln.startswith("DEMO [")]
    assert len(lines) == 1 and "no_such_group" in lines[0], out
    shell.run(f"ACTIVE_MG.set({current!r})")
    assert f"active measurement group: {current}" in shell.run("ACTIVE_MG")


def test_ascan_typed_without_parentheses_prints_rows_and_file(saving_shell, shell_stack):
    out = saving_shell.run("ascan m0 0 4 8 0.01 diode", timeout=120)
    rows = _rows(out)
    assert len(rows) == 9, out
    assert [r[0] for r in rows] == pytest.approx(list(np.linspace(0, 4, 9)), abs=1e-3)
    path = Path(re.search(r"^file: (\S+\.h5)\s*$", out, re.M)[1])
    assert path.is_relative_to(saving_shell.base_path)
    number = int(re.search(r"^Scan (\d+) ", out, re.M)[1])
    diode = _file_points(path, number, "diode", 9)
    assert len(diode) == 9
    assert list(diode) == pytest.approx([r[-1] for r in rows], rel=1e-3)
    info = shell_stack.scan_info(_scan_key(out))
    assert info.get("end_reason") in (None, "SUCCESS")

    # alignment on that scan: the simulated peak's centre, from the YAML of the copy
    centre = json.loads(shell_stack.beacon().GetObjectConfig("diode"))["center"]
    step = 4 / 8
    found = float(re.search(r"Out \[\d+\]: (-?\d+\.\d+)", saving_shell.run("cen(diode)"))[1])
    assert abs(found - centre) <= step / 10
    found = float(re.search(r"Out \[\d+\]: (-?\d+\.\d+)", saving_shell.run("peak diode"))[1])
    assert abs(found - centre) <= step / 10
    fw = float(re.search(r"Out \[\d+\]: (-?\d+\.\d+)", saving_shell.run("fwhm(diode)"))[1])
    yaml_fwhm = json.loads(shell_stack.beacon().GetObjectConfig("diode"))["fwhm"]
    assert fw == pytest.approx(yaml_fwhm, abs=step / 2)
    saving_shell.run("goto_cen(diode)")
    assert shell_stack.device("demo/axis/m0").Position == pytest.approx(found, abs=step / 10)


def test_ctrl_c_aborts_the_scan_and_stops_the_motor(saving_shell, shell_stack):
    from blisstango.core.data import ScanReader

    m0 = shell_stack.device("demo/axis/m0")
    saving_shell.run("mv m0 0")
    saving_shell.send("ascan m0 0 8 4 0.5 diode")
    saving_shell.child.expect(r"\s0\s+0\.0000\s", timeout=60)     # first point shown
    key = re.search(r"\(key (\S+)\)", saving_shell.child.before)[1]
    time.sleep(0.6)                                              # now moving to the next one
    saving_shell.child.sendintr()
    raw = saving_shell.wait_prompt(timeout=30)
    assert "aborted" in raw
    reader = ScanReader(shell_stack.data_redis(), key)
    assert reader.wait_state("CLOSED", timeout=5) == "CLOSED"
    assert reader.info["end_reason"] == "USER_ABORT"
    assert len(reader.read_all("axis:m0")) < 5                   # it did not run on to its end
    assert str(m0.state()) == "ON"
    p = m0.Position
    time.sleep(0.5)
    assert m0.Position == p and p < 8


@pytest.mark.parametrize("line, npoints", [
    ("loopscan 3 0.01 diode", 3),
    ("timescan 0.01 diode npoints=4", 4),
    ("dscan m0 -1 1 4 0.01 diode", 5),
    ("a2scan m0 0 1 m1 0 2 2 0.01 diode diode2", 3),
    ("d2scan m0 -0.5 0.5 m1 -1 1 2 0.01 diode", 3),
    ("amesh m0 0 1 1 m1 0 1 2 0.01 diode", 6),
    ("dmesh m0 -0.5 0.5 1 m1 -1 1 1 0.01 diode", 4),
    ("lookupscan [(m0, [0, 0.5, 2])] 0.01 diode", 3),
])
def test_standard_scans_show_every_point(saving_shell, shell_stack, line, npoints):
    m0 = shell_stack.device("demo/axis/m0")
    saving_shell.run("mv m0 1 m1 0")
    out = saving_shell.run(line, timeout=120)
    assert len(_rows(out)) == npoints, out
    assert re.search(r"^Scan \d+ ended \(SUCCESS\), (\d+) points", out, re.M)
    assert re.search(r"^file: \S+\.h5", out, re.M)
    if line.startswith(("dscan", "d2scan", "dmesh")):
        assert m0.Position == pytest.approx(1, abs=1e-3)     # relative scans go back


def test_ct_shows_one_point_without_a_file(saving_shell):
    out = saving_shell.run("ct 0.05 diode", timeout=60)
    assert len(_rows(out)) == 1, out
    assert "file:" not in out


def test_a_refused_scan_is_one_line(saving_shell, shell_stack):
    m0 = shell_stack.device("demo/axis/m0")
    before = m0.Position
    out = saving_shell.run("ascan m0 0 100 10 0.01 diode")
    lines = [ln for ln in out.splitlines() if ln.strip() and not ln.startswith("DEMO [")]
    assert len(lines) == 1, out
    assert "m0" in lines[0] and "100" in lines[0] and "limit" in lines[0]
    assert "Traceback" not in out
    assert m0.Position == before


# ---- n-dimensional, point and mesh scans: the axis positions the file and Redis hold
def _scan_data(shell_stack, out: str, channels: list[str], npoints: int) -> dict[str, list[float]]:
    """Each channel's points in the scan's NeXus file and, the same, in the data Redis."""
    from blisstango.core.data import ScanReader

    path = Path(re.search(r"^file: (\S+\.h5)\s*$", out, re.M)[1])
    number = int(re.search(r"^Scan (\d+) ", out, re.M)[1])
    reader = ScanReader(shell_stack.data_redis(), _scan_key(out))
    data = {}
    for name in channels:
        in_file = _file_points(path, number, name, npoints)
        full = next(c for c in reader.channels if c.split(":")[-1] == name)
        in_redis = reader.read_all(full, timeout=10)
        assert list(in_file) == pytest.approx(list(in_redis), abs=1e-6), name
        data[name] = list(in_file)
    return data


@pytest.mark.parametrize("line, scan_type, expected", [
    ("anscan [(m0, 0, 1), (m1, 0, 2), (sl_up, -1, 1)] 2 0.01 diode", "anscan",
     {"m0": [0, 0.5, 1], "m1": [0, 1, 2], "sl_up": [-1, 0, 1]}),
    ("anscan m0 0 1 m1 0 2 sl_up -1 1 2 0.01 diode", "anscan",
     {"m0": [0, 0.5, 1], "m1": [0, 1, 2], "sl_up": [-1, 0, 1]}),
    ("dnscan [(m0, -0.5, 0.5), (m1, -1, 1)] 2 0.01 diode", "dnscan",       # from m0 1, m1 0
     {"m0": [0.5, 1, 1.5], "m1": [-1, 0, 1]}),
    ("pointscan m0 [0, 0.5, 2, -1] 0.01 diode", "pointscan", {"m0": [0, 0.5, 2, -1]}),
    ("amesh m0 0 1 2 m1 0 1 1 0.01 diode backnforth=True", "amesh",
     {"m0": [0, 0.5, 1, 1, 0.5, 0], "m1": [0, 0, 0, 1, 1, 1]}),
    ("dmesh m0 -0.5 0.5 1 m1 -1 1 1 0.01 diode", "dmesh",
     {"m0": [0.5, 1.5, 0.5, 1.5], "m1": [-1, -1, 1, 1]}),
])
def test_nd_point_and_mesh_scans_visit_their_positions(saving_shell, shell_stack, line, scan_type, expected):
    axes = {n: shell_stack.device(f"demo/axis/{n}") for n in expected}
    saving_shell.run("mv m0 1 m1 0 sl_up 0")
    out = saving_shell.run(line, timeout=120)
    npoints = len(next(iter(expected.values())))
    rows = _rows(out)
    assert len(rows) == npoints, out
    assert re.search(rf"^Scan \d+ ended \(SUCCESS\), {npoints} points", out, re.M), out
    # the live table: the axes first, in the order typed, at the positions visited
    for i, positions in enumerate(expected.values()):
        assert [r[i] for r in rows] == pytest.approx(positions, abs=1e-3), out
    info = shell_stack.scan_info(_scan_key(out))
    assert info["type"] == scan_type and info["npoints"] == npoints
    assert info["title"].startswith(scan_type)
    data = _scan_data(shell_stack, out, [*expected, "diode"], npoints)
    for name, positions in expected.items():
        assert data[name] == pytest.approx(positions, abs=1e-3), name
    assert data["diode"] == pytest.approx([r[-1] for r in rows], rel=1e-3)
    if scan_type.startswith("d"):                     # relative scans go back
        start = {"m0": 1, "m1": 0, "sl_up": 0}
        assert {n: a.Position for n, a in axes.items()} == pytest.approx({n: start[n] for n in axes}, abs=1e-3)


@pytest.mark.parametrize("line, words", [
    ("pointscan m0 [] 0.01 diode", ["pointscan", "positions (argument 2) is empty"]),
    ("lookupscan [(m0, [0, 1]), (m1, [])] 0.01 diode", ["lookupscan", "positions (argument 4) is empty"]),
    ("pointscan m0 0.01 diode", ["pointscan", "missing count time", "'diode'", "is a counter"]),
    ("anscan [(m0, 0, 1), (m1, 0)] 2 0.01 diode", ["anscan", "(m1, 0) has 2 values", "(axis, start, stop)"]),
    ("dnscan [(m0, -1, 1), (m1, 0, 1, 2)] 2 0.01 diode", ["dnscan", "(m1, 0, 1, 2) has 4 values",
                                                         "(axis, start, stop)"]),
    ("lookupscan [(m0, [0, 1], 2)] 0.01 diode", ["lookupscan", "has 3 values", "(axis, positions)"]),
    ("anscan m0 0 1 m1 0 0.01 diode", ["anscan", "missing intervals", "'diode'", "is a counter"]),
    ("anscan m0 0 m1 0 1 2 0.01 diode", ["anscan", "missing stop", "'m1'", "is an axis"]),
    ("lookupscan [(m0, [0, 1, 2]), (m1, [0, 1])] 0.01 diode", ["lookupscan", "as many positions", "[3, 2]"]),
    ("amesh m0 0 1 0 m1 0 1 1 0.01 diode", ["amesh", "intervals 1 0", ">= 1"]),
])
def test_bad_nd_scan_arguments_are_one_line_and_start_nothing(saving_shell, shell_stack, line, words):
    from blisstango.core.data import recent_scans

    m0 = shell_stack.device("demo/axis/m0")
    before_pos, before_scans = m0.Position, recent_scans(shell_stack.data_redis(), "demo")
    out = saving_shell.run(line)
    lines = [ln for ln in out.splitlines() if ln.strip() and not ln.startswith("DEMO [")]
    assert len(lines) == 1, out
    assert all(w in lines[0] for w in words), out
    assert "Traceback" not in out
    assert recent_scans(shell_stack.data_redis(), "demo") == before_scans
    assert m0.Position == before_pos
