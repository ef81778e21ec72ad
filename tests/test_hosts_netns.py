"""A beamline on five hosts, each a Linux network namespace the test makes and deletes
(veth links to a private bridge, addresses nowhere else): host a runs Redis and BeaconDB
(`blisstango up --host a`), b runs AxisManager started by Debian's Tango Starter from
what BeaconDB tells it, c runs ScanServer and NexusWriter (`blisstango up --tango-host
--host c`), d is a client with TANGO_HOST only, e a workstation that Tango access control
(served from the YAML) lets read and not write."""

from __future__ import annotations

import getpass
import json
import sys
import time
from pathlib import Path

import h5py
import psutil
import pytest
from helpers import netns
from helpers.config_trees import copy_demo, write

from blisstango.core.tangodb.access import ACCESS_DEVICE, SERVICE

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

STARTER = Path("/usr/lib/tango/Starter")
BIN = Path(sys.executable).parent
CLIENT = Path(__file__).parent / "helpers" / "hosts_client.py"
PORT = 10000  # each host has its own addresses: no port can collide with another test's

if netns.available() or not STARTER.exists():
    pytest.skip(netns.available() or "Debian's tango-starter is not installed "
                "(scripts/install-system-deps)", allow_module_level=True)

HOSTS = """\
hosts:
  b:
    AxisManager/demo: {level: 1}
  c:
    NexusWriter/default: {level: 1}
    ScanServer/demo: {level: 2}
"""


def access_yaml(trusted: list[str]) -> str:
    """Access control on: this user may write from hosts a-d, everybody reads."""
    return f"""\
free_properties:
  CtrlSystem:
    Services: ["{SERVICE}"]
access_control:
  users:
    "*":
      addresses: ["*.*.*.*"]
      devices: {{"*/*/*": read}}
    {getpass.getuser()}:
      addresses: [{", ".join(trusted)}]
      devices: {{"*/*/*": write}}
"""


def starter_yaml(log_dir: Path) -> str:
    return f"""\
server: Starter
instances:
  b:
    devices:
      - tango_name: tango/admin/b
        class: Starter
        properties:
          StartDsPath: {BIN}
          LogFileHome: {log_dir}
"""


class Beamline:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.net = netns.Network(["a", "b", "c", "d", "e"])
        self.a, self.b, self.c, self.d, self.e = (self.net[n] for n in "abcde")
        self.tango_host = f"{self.a.address}:{PORT}"
        self.env = {"TANGO_HOST": self.tango_host}
        self.data_dir = workdir / "data-on-c"
        self.starter = None

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def client(self, *args: str, host: netns.Host | None = None, args_json: str | None = None) -> dict:
        """Run hosts_client.py in host d (or `host`): its JSON answer (args_json: a JSON list
        passed as the command's argument)."""
        extra = ["--json", args_json] if args_json is not None else []
        r = (host or self.d).run([sys.executable, str(CLIENT), *args, *extra], env=self.env)
        assert r.returncode == 0 and r.stdout.strip(), f"client {args}: {r.stdout}\n{r.stderr[-3000:]}"
        return json.loads(r.stdout.strip().splitlines()[-1])

    def hosts_table(self) -> list[dict]:
        r = self.a.run([str(BIN / "blisstango"), "status", "--tango-host", self.tango_host, "--json"])
        return json.loads(r.stdout) if r.returncode == 0 else []

    def server(self, name: str) -> dict:
        return next(row for row in self.hosts_table() if row["server"] == name)

    def wait(self, what: str, ready, timeout: float = 120.0):
        deadline = time.monotonic() + timeout
        while True:
            value = ready()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not after {timeout:.0f} s; logs in {self.workdir}")
            time.sleep(0.5)

    def scan_server_ready(self) -> bool:
        state = self.client("command", "demo/scan/demo", "State")
        return state.get("value") in ("ON", "STANDBY")

    def start_starter(self) -> None:
        self.starter = self.b.popen([str(STARTER), "b", "-ORBendPoint", f"giop:tcp:{self.b.address}:"],
                                    self.log("b-starter"), env=self.env, own_pids=True)


@pytest.fixture(scope="module")
def beamline(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("hosts")
    bl = Beamline(workdir)
    try:
        cfg = copy_demo(workdir / "cfg")
        # simulated hardware runs on the control host's loopback (a real IcePAP is on the
        # network): its axes get an AxisManager instance of their own there
        icepap = cfg / "instruments/icepap.yml"
        icepap.write_text(icepap.read_text().replace("server: demo", "server: instruments"))
        write(cfg, "tango/globals.yml", HOSTS + access_yaml([bl.net[n].address for n in "abcd"]))
        write(cfg, "tango/Starter.yml", starter_yaml(workdir / "starter-logs"))
        (workdir / "starter-logs").mkdir()
        bl.cfg = cfg
        bl.a.popen([str(BIN / "blisstango"), "up", str(cfg), "--host", "a", "--address", bl.a.address,
                    "--port", str(PORT), "--run-dir", str(workdir / "run-a"), "--no-web", "--foreground"],
                   bl.log("a"))
        bl.wait("the control host's servers", lambda: {r["server"] for r in bl.hosts_table()
                                                       if r["running"]} >= {"Wago/wago1", "Mca/default"})
        bl.start_starter()
        bl.c.popen([str(BIN / "blisstango"), "up", "--tango-host", bl.tango_host, "--host", "c",
                    "--run-dir", str(workdir / "run-c"), "--foreground"], bl.log("c"))
        bl.wait("servers of b and c", lambda: all(bl.server(s)["running"] for s in (
            "AxisManager/demo", "ScanServer/demo", "NexusWriter/default")))
        bl.wait("the ScanServer", bl.scan_server_ready)
        assert bl.client("saving", str(bl.data_dir)) == {"ok": True}
        yield bl
    finally:
        bl.net.delete()


def test_ascan_from_a_client_host_runs_on_three_hosts(beamline):
    table = {r["server"]: r for r in beamline.hosts_table()}
    assert table["AxisManager/demo"]["runs_on"] == "b"
    assert table["ScanServer/demo"]["runs_on"] == "c" and table["NexusWriter/default"]["runs_on"] == "c"
    assert table["Mca/default"]["runs_on"] == "a"
    out = beamline.client("ascan", "m0", "0", "2", "10", "0.01", "diode")
    info = out["info"]
    assert out["done"] and info["end_reason"] == "SUCCESS", out
    assert out["last_progress"] == 100.0 and out["events"] >= 2   # change events reached host d
    path = Path(info["filename"])
    assert path.is_relative_to(beamline.data_dir)
    entry = f"{info['scan_nb']}.1"
    deadline = time.monotonic() + 60
    while True:  # the writer on c finishes the entry right after the scan's end
        try:
            with h5py.File(path, "r", locking=False) as f:
                if "end_time" in f[entry]:
                    m0 = f[entry]["measurement"]["m0"][()]
                    diode = f[entry]["measurement"]["diode"][()]
                    break
        except (OSError, KeyError):
            pass
        assert time.monotonic() < deadline, f"{path}:{entry} not complete"
        time.sleep(0.5)
    assert len(m0) == len(diode) == 11
    assert list(m0) == pytest.approx([0.2 * i for i in range(11)], abs=1e-3)


def test_the_starter_stops_and_starts_axismanager_and_the_database_shows_it(beamline):
    assert beamline.client("command", "tango/admin/b", "DevGetRunningServers", "1")["value"] == [
        "AxisManager/demo"]
    beamline.client("command", "tango/admin/b", "DevStop", "AxisManager/demo")
    beamline.wait("AxisManager stopped", lambda: "AxisManager/demo" in beamline.client(
        "command", "tango/admin/b", "DevGetStopServers", "1")["value"])
    assert not beamline.server("AxisManager/demo")["running"]
    assert "error" in beamline.client("read", "m0/Position")
    # the Starter refuses DevStart (ALREADY_RUNNING) until its own look at b's processes,
    # a second or so behind its stopped list, no longer finds the old one
    beamline.wait("the Starter accepting DevStart", lambda: _started(beamline.client(
        "command", "tango/admin/b", "DevStart", "AxisManager/demo")))
    beamline.wait("AxisManager running again", lambda: beamline.server("AxisManager/demo")["running"])
    beamline.wait("m0 answering", lambda: "value" in beamline.client("read", "m0/Position"))
    assert beamline.server("AxisManager/demo")["runs_on"] == "b"


def _started(reply: dict) -> bool:
    """DevStart's answer: accepted, or refused only because the Starter still sees the
    stopped server's process (any other refusal fails the test)."""
    if "error" not in reply:
        return True
    assert reply["error"]["reason"] == "ALREADY_RUNNING", reply
    return False


def test_a_cut_link_fails_the_scan_naming_axis_and_host_then_it_reconnects(beamline):
    beamline.b.cut()
    try:
        out = beamline.client("ascan", "m0", "0", "1", "5", "0.01", "diode")
    finally:
        beamline.b.restore()
    # refused at once (the preflight reached for m0) or started and failed at its first
    # move (the preflight had m0's limits from events): either way it names m0 and host b
    if "error" in out:
        desc = out["error"]["desc"]
    else:
        assert out["info"]["end_reason"] == "FAILURE", out
        desc = out["info"]["error"]
    assert "m0" in desc and "host b does not answer" in desc, desc
    # no restart: the servers on b answer again, the next scan works
    beamline.wait("m0 answering after the link is back", lambda: "value" in beamline.client("read", "m0/Position"))
    out = beamline.client("ascan", "m0", "0", "1", "5", "0.01", "diode")
    assert "info" in out and out["info"]["end_reason"] == "SUCCESS", out


def test_up_host_brings_up_the_same_beamline_as_the_starter(beamline):
    """Host b without its Starter: `blisstango up --tango-host --host b` starts what the
    database places there, and the beamline scans as before."""
    beamline.client("command", "tango/admin/b", "DevStopAll", "1")
    beamline.wait("AxisManager stopped", lambda: not beamline.server("AxisManager/demo")["running"])
    netns._stop_tree(beamline.starter.pid)
    beamline.b.popen([str(BIN / "blisstango"), "up", "--tango-host", beamline.tango_host, "--host", "b",
                      "--run-dir", str(beamline.workdir / "run-b"), "--foreground"], beamline.log("b-up"))
    beamline.wait("AxisManager from up --host b", lambda: beamline.server("AxisManager/demo")["running"])
    assert beamline.server("AxisManager/demo")["runs_on"] == "b"
    out = beamline.client("ascan", "m0", "0", "1", "5", "0.01", "diode")
    assert out["info"]["end_reason"] == "SUCCESS", out



def test_access_control_read_only_host_reads_and_is_refused_writes(beamline):
    """Host e is not among the user's write hosts: it reads m0 and is refused writing it;
    host d moves it. A rule added through the access-control device is in the YAML and
    still holds after BeaconDB is killed and restarted."""
    me, e = getpass.getuser(), beamline.e
    assert "value" in beamline.client("read", "m0/Position", host=e)
    # PyTango (and C++) clients: cppTango's own refusal, naming the device only
    refused = beamline.client("write", "m0/Position", "0.25", host=e)
    assert refused["error"]["reason"] == "API_ReadOnlyMode" and "demo/axis/m0" in refused["error"]["desc"]
    # our clients (the shell's mv, a scan's axis: AxisProxy) name the user, host and rule
    refused = beamline.client("move", "m0", "0.25", host=e)["error"]
    assert refused["reason"] == "MotionError", refused
    desc = refused["desc"]
    assert desc.startswith("m0: ") and "demo/axismanager/demo: write refused" in desc, desc
    assert f"for user '{me}' from {e.address}" in desc and "user '*'" in desc and "*/*/* read" in desc, desc
    assert desc.endswith(f"(access control {ACCESS_DEVICE})"), desc
    why = beamline.client("command", ACCESS_DEVICE, "ExplainAccess", host=e,
                          args_json=json.dumps([me, "demo/axis/m0", e.address]))["value"]
    assert "demo/axis/m0: read" in why and "user '*'" in why and "*/*/*" in why
    assert beamline.client("write", "m0/Position", "0.5") == {"ok": True}     # host d may
    assert beamline.client("move", "m0", "0.75")["ok"]
    # the operator lets e write: through the device, into the YAML
    added = beamline.client("command", ACCESS_DEVICE, "AddAddressForUser",
                            args_json=json.dumps([me, e.address]))
    assert "error" not in added, added
    deadline = time.monotonic() + 30
    while e.address not in (beamline.cfg / "tango/globals.yml").read_text():
        assert time.monotonic() < deadline, "the rule did not reach the YAML"
        time.sleep(0.2)
    # BeaconDB killed: `blisstango up` on a restarts it, from the YAML
    beacondb = [p for p in beamline.a.pids() if psutil.Process(p).name() == "BeaconDB"]
    assert len(beacondb) == 1
    psutil.Process(beacondb[0]).kill()
    beamline.wait("BeaconDB restarted", lambda: [p for p in beamline.a.pids()
                                                 if psutil.Process(p).name() == "BeaconDB"] not in ([], beacondb))
    beamline.wait("e may write", lambda: beamline.client("write", "m0/Position", "0.25", host=e) == {"ok": True})
