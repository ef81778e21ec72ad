"""Several hosts, on one machine: the address every process listens on, Redis beyond
loopback only with an ACL password, and where servers run (the YAML's `hosts` block, as
the database serves it to Starters and `blisstango up --host`)."""

from __future__ import annotations

import pytest
import redis
import tango
from helpers.config_trees import copy_demo, write
from helpers.tango_db import BeaconDBProcess, wait_view

from blisstango.clients.launcher.hosts import tree_host_servers
from blisstango.core.beacon.redis_server import ACL_USER, RedisServer
from blisstango.core.comm import address
from blisstango.core.config import load_tree
from blisstango.core.config.tango_view import ServerInfo, tango_view

HOSTS = """\
hosts:
  motion1:
    AxisManager/demo: {level: 1}
  daq1:
    ScanServer/demo: {level: 2}
    NexusWriter/default: {level: 2, mode: 0}
"""


# -- addresses ---------------------------------------------------------------------------
def test_a_local_database_means_loopback_an_explicit_address_wins(monkeypatch):
    monkeypatch.delenv(address.ADDRESS_ENV, raising=False)
    assert address.local_address("127.0.0.1:10000") == "127.0.0.1"
    assert address.local_address("localhost:10000") == "127.0.0.1"
    assert address.local_address("") == "127.0.0.1"
    monkeypatch.setenv(address.ADDRESS_ENV, "10.9.8.7")
    assert address.local_address("127.0.0.1:10000") == "10.9.8.7"


def test_a_server_gets_one_endpoint_unless_it_names_its_own(monkeypatch):
    monkeypatch.setenv(address.ADDRESS_ENV, "10.9.8.7")
    assert address.orb_endpoint_args(["AxisManager", "demo"]) == [
        "AxisManager", "demo", "-ORBendPoint", "giop:tcp:10.9.8.7:"]
    own = ["AxisManager", "demo", "-ORBendPoint", "giop:tcp:127.0.0.1:12345"]
    assert address.orb_endpoint_args(own) == own


# -- where servers run ------------------------------------------------------------------
def test_hosts_block_places_servers_and_up_host_picks_them(tmp_path):
    cfg = copy_demo(tmp_path / "cfg")
    write(cfg, "tango/globals.yml", HOSTS)
    tree = load_tree(cfg)
    info = tango_view(tree).server_info
    assert info["axismanager/demo"] == ServerInfo("AxisManager/demo", "motion1", 1, 1)
    assert info["nexuswriter/default"] == ServerInfo("NexusWriter/default", "daq1", 0, 2)
    assert tree_host_servers(tree, "motion1", unplaced=False) == [("AxisManager", "demo")]
    # NexusWriter's mode 0: shown, not started
    assert tree_host_servers(tree, "daq1", unplaced=False) == [("ScanServer", "demo")]
    # beside the database: the servers placed nowhere, never the other hosts'
    control = tree_host_servers(tree, "control")
    assert ("AxisManager", "demo") not in control and ("Mca", "default") in control
    # every server, in level order, when no host is named
    every = tree_host_servers(tree, None)
    assert every.index(("AxisManager", "demo")) < every.index(("ScanServer", "demo"))


def test_a_server_on_two_hosts_is_an_error_with_its_file(tmp_path):
    cfg = copy_demo(tmp_path / "cfg")
    write(cfg, "tango/globals.yml", "hosts:\n  a: {AxisManager/demo: }\n  b: {AxisManager/demo: }\n"
                                    "  c: {AxisManager/demo: {level: high}}\n")
    errors = [str(e) for e in tango_view(load_tree(cfg)).errors]
    assert any("AxisManager/demo is placed on two hosts: a and b" in e and "globals.yml" in e
               for e in errors), errors


@pytest.mark.e2e
def test_database_serves_placement_and_writes_starter_changes_to_yaml(tmp_path):
    cfg = copy_demo(tmp_path / "cfg")
    write(cfg, "tango/globals.yml", "# where the servers run\n" + HOSTS)
    db_proc = BeaconDBProcess(tmp_path / "beacondb", config=cfg).start()
    try:
        db = tango.Database("127.0.0.1", db_proc.port)
        # what a Starter on motion1 asks: servers never started there are listed too
        assert list(db.command_inout("DbGetHostServersInfo", "motion1")) == ["AxisManager/demo", "1", "1"]
        assert list(db.command_inout("DbGetServerInfo", "ScanServer/demo")) == [
            "ScanServer/demo", "daq1", "1", "2"]
        # Astor/tango_admin move a server: the YAML records it, comments kept
        db.command_inout("DbPutServerInfo", ["Mca/default", "daq1", "1", "3"])
        db.command_inout("DbDeleteServerInfo", "NexusWriter/default")
        view = wait_view(cfg, lambda v: "mca/default" in v.server_info
                         and "nexuswriter/default" not in v.server_info)
        assert view.server_info["mca/default"] == ServerInfo("Mca/default", "daq1", 1, 3)
        assert (cfg / "tango/globals.yml").read_text().startswith("# where the servers run\n")
        db_proc.stop()
        db_proc.proc = BeaconDBProcess(db_proc.workdir, port=db_proc.port, config=cfg).start().proc
        db = tango.Database("127.0.0.1", db_proc.port)
        assert list(db.command_inout("DbGetHostServersInfo", "daq1")) == [
            "Mca/default", "1", "3", "ScanServer/demo", "1", "2"]
    finally:
        db_proc.stop()


# -- Redis beyond loopback ---------------------------------------------------------------
@pytest.mark.e2e
def test_redis_beyond_loopback_refuses_clients_without_the_acl_password(tmp_path):
    server = RedisServer("settings", tmp_path / "run", host="0.0.0.0")
    server.start()
    try:
        assert f"{ACL_USER}:" in server.url and "@" in server.url
        assert redis.Redis.from_url(server.url).ping()
        anonymous = redis.Redis(host="127.0.0.1", port=server.port)
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()
        wrong = redis.Redis(host="127.0.0.1", port=server.port, username=ACL_USER, password="guess")
        with pytest.raises(redis.AuthenticationError):
            wrong.ping()
        assert (server.base_dir / "settings.password").stat().st_mode & 0o077 == 0
    finally:
        server.kill()
    # a loopback server stays the laptop's: no password
    local = RedisServer("data", tmp_path / "run2", kind="data")
    assert local.password is None and "@" not in local.url
