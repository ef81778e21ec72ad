"""Tango access control served by BeaconDB from the YAML (sys/access_control/1, class
TangoAccessControl): the rules, and PyTango/cppTango clients obeying them against
Debian's C++ TangoTest."""

from __future__ import annotations

import getpass
import subprocess
import sys

import pytest
import tango
from helpers.config_trees import copy_sample, write
from helpers.procs import kill_tree, start
from helpers.tango_db import BeaconDBProcess, wait_view

from blisstango.core.comm.reach import client_addresses, client_user
from blisstango.core.tangodb.access import ACCESS_DEVICE, SERVICE, decide, edit, problems

RULES = {"users": {
    "*": {"addresses": ["*.*.*.*"], "devices": {"*/*/*": "read"}},
    "opid00": {"addresses": ["10.1.0.0/16", "192.168.5.7"],
               "devices": {"demo/*/*": "write", "demo/shutter/*": "read"}},
}}


# -- the rules ---------------------------------------------------------------------------
def test_the_users_rule_from_its_addresses_most_specific_pattern_first():
    assert decide(RULES, "opid00", ["10.1.2.3"], "demo/axis/m0").right == "write"
    assert decide(RULES, "OPID00", ["192.168.5.7"], "demo/shutter/sh1").right == "read"
    # from another address the defaults apply, and the answer names that rule
    other = decide(RULES, "opid00", ["10.2.0.1"], "demo/axis/m0")
    assert other.right == "read" and "user '*'" in other.rule and "*/*/*" in other.rule
    assert decide(RULES, "guest", ["10.1.2.3"], "demo/axis/m0").right == "read"
    assert decide({}, "opid00", ["10.1.2.3"], "demo/axis/m0").right == "read"


def test_edits_and_malformed_rules():
    rules = edit(RULES, "opid00", "addresses", "10.3.0.0/24", "add")
    assert decide(rules, "opid00", ["10.3.0.9"], "demo/axis/m0").right == "write"
    rules = edit(rules, "opid00", "devices", "demo/*/*", None)
    assert decide(rules, "opid00", ["10.3.0.9"], "demo/axis/m0").right == "read"
    assert RULES["users"]["opid00"]["devices"]["demo/*/*"] == "write"  # a copy was edited
    assert problems({"users": {"x": {"addresses": ["nowhere"], "devices": {"a/b": "all"}}}}) == [
        "access_control.users.x: address 'nowhere' is not an address, a network (10.0.0.0/24) "
        "or a pattern (10.0.*.*)",
        "access_control.users.x.devices: a/b: all (needs domain/family/member: read|write)"]


# -- through Tango -----------------------------------------------------------------------
GLOBALS = f"""\
# who may write what
free_properties:
  CtrlSystem:
    Services: ["{SERVICE}"]
access_control:
  users:
    "*":
      addresses: ["*.*.*.*"]
      devices: {{"*/*/*": read}}
    {getpass.getuser()}:                 # runs the servers, edits the rules, reads the rest
      addresses: ["*.*.*.*"]
      devices: {{"sys/access_control/*": write, "sys/database/*": write, "dserver/*/*": write}}
"""

CLIENT = """\
import json, sys, tango
from blisstango.core.comm.reach import access_refusal
dev = tango.DeviceProxy("sys/tg_test/1")
out = {"read": float(dev.read_attribute("ampli").value)}
try:
    dev.write_attribute("ampli", 2.5)
    out["write"] = "ok"
except tango.DevFailed as exc:
    out["write"] = [exc.args[0].reason, exc.args[0].desc]
    out["ours"] = access_refusal(exc, "sys/tg_test/1")   # what our clients (AxisProxy) say
try:
    out["state"] = str(dev.State())
    dev.command_inout("SwitchStates")
    out["command"] = "ok"
except tango.DevFailed as exc:
    out["command"] = [exc.args[0].reason, exc.args[0].desc]
print(json.dumps(out))
"""


@pytest.mark.e2e
def test_clients_obey_the_yaml_rules_and_changes_land_in_yaml(tmp_path):
    import json

    cfg = copy_sample(tmp_path / "cfg")
    write(cfg, "tango/globals.yml", GLOBALS)
    write(cfg, "tango/TangoTest.yml", "server: TangoTest\ninstances:\n  test:\n    devices:\n"
                                      "      - tango_name: sys/tg_test/1\n        class: TangoTest\n")
    db_proc = BeaconDBProcess(tmp_path / "beacondb", config=cfg).start()
    tangotest = start(["/usr/lib/tango/TangoTest", "test"], tmp_path / "tangotest.log", env=db_proc.env)
    try:
        db = tango.Database("127.0.0.1", db_proc.port)
        deadline = 60
        while not db.get_device_info("sys/tg_test/1").exported and deadline > 0:
            subprocess.run(["sleep", "0.5"])
            deadline -= 0.5

        def client() -> dict:
            r = subprocess.run([sys.executable, "-c", CLIENT], env={**db_proc.env}, capture_output=True,
                               text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            return json.loads(r.stdout)

        ro = client()
        assert ro["write"][0] == "API_ReadOnlyMode" and "sys/tg_test/1" in ro["write"][1]
        user, ips = client_user(), client_addresses()
        assert ro["ours"] == (f"sys/tg_test/1: write refused for user '{user}' from {', '.join(ips)}: "
                              f"access rule of user '{user}' from *.*.*.* ({ips[0]}) names no pattern "
                              f"matching sys/tg_test/1: read only (access control {ACCESS_DEVICE})")
        assert ro["state"] in ("RUNNING", "ON", "UNKNOWN")       # State: always allowed
        assert ro["command"][0] == "API_ReadOnlyMode"
        acl = tango.DeviceProxy(f"tango://{db_proc.tango_host}/{ACCESS_DEVICE}")
        me = getpass.getuser()
        why = acl.ExplainAccess(["guest", "sys/tg_test/1", "10.9.9.9"])
        assert why.startswith("sys/tg_test/1: read for guest") and "user '*'" in why and "*/*/*" in why
        why = acl.ExplainAccess([me, "sys/tg_test/1", "10.9.9.9"])
        assert f"user '{me}'" in why and "names no pattern matching sys/tg_test/1" in why
        # a rule given through the device: in the YAML, comments kept, and clients obey it
        acl.AddDeviceForUser([me, "sys/tg_test/*", "write"])
        view = wait_view(cfg, lambda v: "sys/tg_test/*" in v.access_control["users"][me]["devices"])
        assert view.access_control["users"][me]["devices"]["sys/tg_test/*"] == "write"
        assert (cfg / "tango/globals.yml").read_text().startswith("# who may write what\n")
        rw = client()
        assert rw["write"] == "ok" and rw["command"] == "ok"
        with pytest.raises(tango.DevFailed, match="needs domain/family/member"):
            acl.AddDeviceForUser([me, "sys/tg_test", "write"])
        # the rule survives a BeaconDB restart (YAML is the source of truth)
        db_proc.stop()
        db_proc.proc = BeaconDBProcess(db_proc.workdir, port=db_proc.port, config=cfg).start().proc
        acl = tango.DeviceProxy(f"tango://{db_proc.tango_host}/{ACCESS_DEVICE}")
        assert acl.GetAccess([me, "10.9.9.9", "sys/tg_test/1"]) == "write"
        pairs = list(acl.GetDeviceByUser(me))
        assert dict(zip(pairs[::2], pairs[1::2]))["sys/tg_test/*"] == "write"
    finally:
        kill_tree(tangotest.pid)
        db_proc.stop()
