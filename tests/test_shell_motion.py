"""The scientist's shell, motion part: a real `blisstango shell -s demo` in a terminal
against a real demo stack (BeaconDB, AxisManager, ScanServer, NexusWriter, Redis)."""

from __future__ import annotations

import json
import re
import time

import pytest

pytestmark = pytest.mark.timeout(300)

NUM = r"-?\d+\.\d+"


def _session_axes(stack) -> list[str]:
    beacon = stack.beacon()
    objects = json.loads(beacon.GetSession("demo"))["objects"]
    return [o for o in objects if json.loads(beacon.GetObjectConfig(o)).get("plugin") == "emotion"]


def test_prompt_shows_the_session_and_setup_ran(shell):
    assert "alignment peak of diode" in shell.banner      # the session's setup file ran
    out = shell.run("SESSION.name")
    assert "'demo'" in out


def test_wa_lists_every_axis_with_user_dial_and_unit(shell, shell_stack):
    m1 = shell_stack.device("demo/axis/m1")
    m1.SetPosition(m1.Dial_position + 7.25)               # user = dial + 7.25 from now on
    try:
        out = shell.run("wa")
        axes = _session_axes(shell_stack)
        assert len(axes) >= 6
        for name in axes:
            dev = shell_stack.device(f"demo/axis/{name}")
            row = re.search(rf"^{name}\s+({NUM})\s+({NUM})\s+(\S+)\s*$", out, re.M)
            assert row, f"no row for {name} in:\n{out}"
            user, dial, unit = float(row[1]), float(row[2]), row[3]
            assert user == pytest.approx(dev.Position, abs=1e-4)
            assert dial == pytest.approx(dev.Dial_position, abs=1e-4)
            assert unit == dev.Unit
        m1_row = re.search(rf"^m1\s+({NUM})\s+({NUM})", out, re.M)
        assert float(m1_row[1]) - float(m1_row[2]) == pytest.approx(7.25, abs=1e-4)
    finally:
        m1.SetPosition(m1.Dial_position)


def test_umv_shows_the_position_moving_and_ends_there(shell, shell_stack):
    m0 = shell_stack.device("demo/axis/m0")
    shell.run("mv m0 -2")
    assert m0.Position == pytest.approx(-2, abs=1e-3)
    shell.send("umv m0 2")
    raw = shell.wait_prompt()
    seen = [float(v) for v in re.findall(rf"m0 ({NUM})", raw)]
    between = {round(v, 3) for v in seen if -2 < v < 2}
    assert len(between) >= 3, f"no live positions on the way: {seen}"
    assert seen == sorted(seen), "positions shown out of order"
    assert seen[-1] == pytest.approx(2, abs=1e-3)
    assert m0.Position == pytest.approx(2, abs=1e-3)
    assert str(m0.state()) == "ON"


def test_mv_beyond_the_limit_is_one_line(shell, shell_stack):
    m0 = shell_stack.device("demo/axis/m0")
    before = m0.Position
    out = shell.run("mv m0 1000").strip()
    lines = [ln for ln in out.splitlines() if ln.strip() and not ln.startswith("DEMO [")]
    assert len(lines) == 1, out
    assert "m0: 1000.0 is above the high limit 10.0" in lines[0]
    assert "Traceback" not in out
    assert m0.Position == pytest.approx(before, abs=1e-6)


def test_relative_moves_and_axis_vocabulary(shell, shell_stack):
    m0 = shell_stack.device("demo/axis/m0")
    shell.run("mv m0 1")
    shell.run("mvr m0 -0.5")
    assert m0.Position == pytest.approx(0.5, abs=1e-3)
    shell.run("umvr m0 0.25")
    assert m0.Position == pytest.approx(0.75, abs=1e-3)
    assert "0.75" in shell.run("m0.position")
    assert "(-10.0, 10.0)" in shell.run("m0.limits")
    shell.run("m0.velocity = 4")
    assert m0.Velocity == pytest.approx(4)
    shell.run("m0.velocity = 5")
    shell.run("m0.move(1.5)")
    assert m0.Position == pytest.approx(1.5, abs=1e-3)
    assert "ON" in shell.run("m0.state")
    assert re.search(r"^m0\s+mm\s+10\.0+\s+1\.50+\s+-10\.0+", shell.run("wm m0"), re.M)
    assert re.search(r"m0: 1\.50+ mm", shell.run("sync m0"))
    assert "m0=1.50000" in shell.run("where")


def test_python_stays_python(shell):
    assert "Out" not in shell.run("x = 3")           # an assignment: no call, no output
    assert "6" in shell.run("x * 2")
    out = shell.run("pos = m0.position")
    assert "Error" not in out
    assert "True" in shell.run("isinstance(pos, float)")


def test_listing_commands(shell, shell_stack):
    out = shell.run("lsmot")
    for name in _session_axes(shell_stack):
        assert name in out
    out = shell.run("lscnt")
    assert re.search(r"^diode\s+SimulationCounter\s+counts", out, re.M)
    assert re.search(r"^diode2\s+SimulationCounter", out, re.M)
    out = shell.run("lsobj 'sl_*'")
    assert set(out.split()) >= {"sl_up", "sl_down", "sl_vgap", "sl_voffset"} and "m0" not in out.split()
    assert "no object is locked" in shell.run("lslock")


def test_history_is_kept_across_shells(shell_stack, tmp_path):
    from helpers.shell import Shell

    first = Shell(shell_stack, tmp_path / "state")
    try:
        first.run("marker_value_4711 = 1")
    finally:
        first.close()
    files = list((tmp_path / "state" / "blisstango").rglob("demo*"))
    assert files, "no history file under the state dir"
    second = Shell(shell_stack, tmp_path / "state")
    try:
        out = second.run("%history -g marker_value_4711")
        assert "marker_value_4711 = 1" in out
    finally:
        second.close()


def test_lslock_shows_a_held_lock(shell, shell_stack):
    """A lock taken by another process (a scan would) is listed with its holder."""
    from blisstango.core.beacon import connection
    from blisstango.core.beacon.locks import Lock

    url = shell_stack.beacon().read_attribute("SettingsRedisUrl").value
    saved = connection.configured_urls()          # other tests' session Redis, restored after
    connection.configure(settings_url=url, data_url=url)
    try:
        lk = Lock("m1", owner="test_shell: holding m1")
        lk.acquire()
        try:
            time.sleep(0.2)
            out = shell.run("lslock")
            assert re.search(r"^m1\s+.*test_shell: holding m1", out, re.M), out
        finally:
            lk.release()
    finally:
        connection.reset()
        if any(saved):
            connection.configure(*saved)


def test_ctrl_c_during_umv_stops_the_motion(shell, shell_stack):
    m0 = shell_stack.device("demo/axis/m0")
    shell.run("mv m0 -8")
    shell.send("umv m0 8")
    shell.child.expect(r"m0 -[0-7]\.\d+", timeout=30)          # on its way
    shell.child.sendintr()
    out = shell.wait_prompt(timeout=10)
    assert "Interrupted" in out and "Traceback" not in out
    assert str(m0.state()) == "ON"
    p = m0.Position
    time.sleep(0.3)
    assert m0.Position == p and p < 8


def test_itango_started_by_hand_loads_the_session(shell_stack, tmp_path):
    """`itango --ext=blisstango.clients.itango_profile` with BLISSTANGO_SESSION (README)."""
    from helpers.shell import BIN, Shell

    sh = Shell(shell_stack, tmp_path / "state",
               argv=[str(BIN / "itango"), "--ext=blisstango.clients.itango_profile",
                     f"--HistoryManager.hist_file={tmp_path / 'itango_history.sqlite'}"],
               env={"BLISSTANGO_SESSION": "demo"})
    try:
        out = sh.run("wa")
        assert re.search(rf"^m0\s+{NUM}\s+{NUM}\s+mm", out, re.M), out
        out = sh.run("mv m0 1000")
        assert "m0: 1000.0 is above the high limit 10.0" in out and "Traceback" not in out
        out = sh.run("lsdev demo/axis/m.*")                      # itango's own magic is there
        assert "demo/axis/m0" in out
    finally:
        sh.close()


def test_mv_of_several_axes_moves_them_all(shell, shell_stack):
    m0, m1 = shell_stack.device("demo/axis/m0"), shell_stack.device("demo/axis/m1")
    shell.run("mv m0 0 m1 0")
    shell.run("umv m0 1.5 m1 -3")
    assert (m0.Position, m1.Position) == (pytest.approx(1.5, abs=1e-3), pytest.approx(-3, abs=1e-3))
    out = shell.run("mv m0 2 m1 1000")                       # one refused: nothing moves
    assert "m1" in out and "1000" in out and "Traceback" not in out
    assert m0.Position == pytest.approx(1.5, abs=1e-3)
    shell.run("mv m1 0")


def test_unknown_session_is_one_line_and_exit_1(shell_stack):
    import subprocess

    from helpers.shell import BIN, stack_env

    res = subprocess.run([str(BIN / "blisstango"), "shell", "-s", "nosuchsession"], capture_output=True,
                         text=True, timeout=60, env=stack_env(TANGO_HOST=shell_stack.tango_host))
    assert res.returncode == 1
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "nosuchsession" in lines[0], res.stderr
