"""BeaconDB with a YAML tree: the demo's devices, Tango writes landing in YAML (comments
kept), surviving kill -9, the Beacon device, and Reload with validation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import tango
from helpers.config_trees import copy_demo, write
from helpers.procs import kill_tree, start
from helpers.tango_db import BIN, BeaconDBProcess, wait_view

from blisstango.core.beacon import BEACON_DEVICE
from blisstango.core.config import load_tree

pytestmark = pytest.mark.e2e


def admin(db, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tango_admin", *args], env={**os.environ, **db.env},
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def cfg(tmp_path):
    return copy_demo(tmp_path / "cfg")


@pytest.fixture
def yamldb(tmp_path, cfg):
    db = BeaconDBProcess(tmp_path / "beacondb", config=cfg).start()
    yield db
    db.stop()


def test_tango_writes_land_in_yaml_and_survive_kill9(tmp_path, cfg, yamldb):
    comments_before = [ln for ln in (cfg / "motors/mockup.yml").read_text().splitlines() if "#" in ln]
    assert admin(yamldb, "--add-server", "TangoTest/test", "TangoTest", "sys/tg_test/1").returncode == 0
    db = tango.Database("127.0.0.1", yamldb.port)
    db.put_device_property("sys/tg_test/1", {"Mode": ["fast"], "Values": ["1", "2"]})
    db.put_device_attribute_property("sys/tg_test/1", {"ampli": {"unit": ["V"], "max_value": ["10"]}})
    db.put_device_alias("sys/tg_test/1", "tg1")
    db.put_device_property("demo/axis/m0", {"EventPeriod": ["0.1"]})
    db.put_device_attribute_property("demo/axis/m0", {"Position": {"format": ["%8.3f"]}})
    with pytest.raises(tango.DevFailed, match="configuration object m0"):
        db.delete_device("demo/axis/m0")
    # properties of a device no server defines are kept too (journal, not YAML)
    db.put_device_property("free/standing/dev", {"Note": ["kept"]})
    # class and free-object properties, attribute aliases: the globals block of tango/
    db.put_class_property("TangoTest", {"Doc": ["a", "b"]})
    db.put_class_attribute_property("TangoTest", {"ampli": {"unit": ["mV"]}})
    db.put_property("Beamline", {"energy": ["12.4"]})
    db.command_inout("DbPutAttributeAlias", ["sys/tg_test/1/ampli", "amp"])

    # the YAML tree holds every write (written right after the journal acknowledged it),
    # parses, and kept the comments
    view = wait_view(cfg, lambda v: v.devices["demo/axis/m0"].attribute_properties["Position"].get("format")
                     == ["%8.3f"]
                     and "sys/tg_test/1" in v.devices and v.devices["sys/tg_test/1"].alias == "tg1"
                     and "ampli" in v.devices["sys/tg_test/1"].attribute_properties)
    tg, m0 = view.devices["sys/tg_test/1"], view.devices["demo/axis/m0"]
    assert (tg.server, tg.klass, tg.alias, tg.file) == ("TangoTest/test", "TangoTest", "tg1", "tango/TangoTest.yml")
    assert tg.properties == {"Mode": ["fast"], "Values": ["1", "2"]}
    assert tg.attribute_properties == {"ampli": {"unit": ["V"], "max_value": ["10"]}}
    assert m0.properties["EventPeriod"] == ["0.1"]
    # the explicit format overrides the one derived from the YAML (unit, limits stay derived),
    # and only what was written lands in the object's tango block
    assert m0.attribute_properties["Position"]["format"] == ["%8.3f"]
    assert m0.attribute_properties["Position"]["unit"] == ["mm"]
    assert load_tree(cfg)["m0"]["tango"]["attribute_properties"] == {"Position": {"format": "%8.3f"}}
    view = wait_view(cfg, lambda v: v.attribute_aliases == {"amp": "sys/tg_test/1/ampli"})
    assert view.globals_file == "tango/globals.yml"
    assert view.class_properties == {"TangoTest": {"Doc": ["a", "b"]}}
    assert view.class_attribute_properties == {"TangoTest": {"ampli": {"unit": ["mV"]}}}
    assert view.free_properties == {"Beamline": {"energy": ["12.4"]}}
    after = (cfg / "motors/mockup.yml").read_text().splitlines()
    assert all(c in after for c in comments_before)

    yamldb.kill()
    again = BeaconDBProcess(yamldb.workdir, port=yamldb.port, config=cfg).start()
    yamldb.proc = again.proc
    db = tango.Database("127.0.0.1", yamldb.port)
    assert list(db.get_device_property("sys/tg_test/1", "Values")["Values"]) == ["1", "2"]
    assert db.get_device_from_alias("tg1") == "sys/tg_test/1"
    assert list(db.get_device_attribute_property("demo/axis/m0", "Position")["Position"]["format"]) == ["%8.3f"]

    # a second restart starts from the compacted snapshot, not from the journal
    yamldb.stop()
    yamldb.proc = BeaconDBProcess(yamldb.workdir, port=yamldb.port, config=cfg).start().proc
    db = tango.Database("127.0.0.1", yamldb.port)
    assert list(db.get_device_property("free/standing/dev", "Note")["Note"]) == ["kept"]
    assert list(db.get_class_property("TangoTest", "Doc")["Doc"]) == ["a", "b"]
    assert list(db.get_property("Beamline", "energy")["energy"]) == ["12.4"]
    assert db.command_inout("DbGetAttributeAlias", "amp") == "sys/tg_test/1/ampli"
    assert list(db.get_class_attribute_property("TangoTest", "ampli")["ampli"]["unit"]) == ["mV"]
    assert list(db.get_device_property("sys/tg_test/1", "Mode")["Mode"]) == ["fast"]

    # a file left without servers goes (no empty 'server:' block left behind), unless a
    # person wrote a comment block at its top: then only that stays
    assert admin(yamldb, "--add-server", "Legacy/1", "LegacyClass", "legacy/dev/1").returncode == 0
    legacy = cfg / "tango/Legacy.yml"
    wait_view(cfg, lambda v: "legacy/dev/1" in v.devices)
    legacy.write_text("# the old vacuum gauges, kept until the upgrade\n\n" + legacy.read_text())
    assert admin(yamldb, "--delete-server", "TangoTest/test").returncode == 0
    assert admin(yamldb, "--delete-server", "Legacy/1").returncode == 0
    view = wait_view(cfg, lambda v: "sys/tg_test/1" not in v.devices and "legacy/dev/1" not in v.devices)
    assert not view.errors
    assert not (cfg / "tango/TangoTest.yml").exists()
    assert legacy.read_text() == "# the old vacuum gauges, kept until the upgrade\n"
    # a server added to that file again goes below the comments
    assert admin(yamldb, "--add-server", "Legacy/1", "LegacyClass", "legacy/dev/1").returncode == 0
    wait_view(cfg, lambda v: "legacy/dev/1" in v.devices)
    assert legacy.read_text().startswith("# the old vacuum gauges, kept until the upgrade\n")


def test_writes_acknowledged_before_kill9_reach_yaml_after_restart(cfg, yamldb):
    """kill -9 right after a burst of writes: the journal has them, the restart writes YAML."""
    db = tango.Database("127.0.0.1", yamldb.port)
    names = [f"burst/dev/{i}" for i in range(50)]
    db.command_inout("DbAddServer", ["Burst/1"] + [x for n in names for x in (n, "BurstClass")])
    for i, n in enumerate(names):
        db.put_device_property(n, {"Index": [str(i)]})
    yamldb.kill()
    yamldb.proc = BeaconDBProcess(yamldb.workdir, port=yamldb.port, config=cfg).start().proc
    view = wait_view(cfg, lambda v: all(v.devices.get(n) and v.devices[n].properties.get("Index") for n in names))
    assert [view.devices[n].properties["Index"] for n in names] == [[str(i)] for i in range(50)]
    assert {view.devices[n].file for n in names} == {"tango/Burst.yml"}


def test_demo_devices_exported_and_beacon_device(tmp_path, cfg):
    db_proc = BeaconDBProcess(tmp_path / "beacondb", config=cfg, extra=[]).start()  # embedded Redis
    axis = start([str(BIN / "AxisManager"), "demo"], tmp_path / "axismanager.log", env=db_proc.env)
    try:
        db = tango.Database("127.0.0.1", db_proc.port)
        deadline = time.monotonic() + 60
        wanted = {"demo/axis/m0", "demo/axis/m1", "demo/axis/sl_vgap", "demo/axismanager/demo"}
        while time.monotonic() < deadline and not wanted <= set(db.get_device_exported("demo/*")):
            assert axis.poll() is None, (tmp_path / "axismanager.log").read_text()[-2000:]
            time.sleep(0.2)   # the server exports its devices one after the other
        assert wanted <= set(db.get_device_exported("demo/*"))
        assert db.get_device_from_alias("m0") == "demo/axis/m0"
        assert {"m0", "m1", "sl_up", "sl_down"} <= set(db.get_device_alias_list("*"))

        beacon = tango.DeviceProxy(f"tango://{db_proc.tango_host}/{BEACON_DEVICE}")
        m0 = json.loads(beacon.GetObjectConfig("m0"))
        assert (m0["velocity"], m0["__file__"]) == (5.0, "motors/mockup.yml")
        assert "m0" in beacon.ListObjects(["m*", "emotion"]) and "diode" not in beacon.ListObjects(["*", "emotion"])
        session = json.loads(beacon.GetSession("demo"))
        assert "m0" in session["objects"] and session["setup_text"]
        with pytest.raises(tango.DevFailed, match="no object named 'nope'"):
            beacon.GetObjectConfig("nope")
        # the Redis URL is all a client needs: take a lock, Beacon reports who holds it
        probe = subprocess.run(
            [sys.executable, "-c",
             "from blisstango.core import green; green.patch()\n"
             "import json, tango\n"
             "from blisstango.core.beacon.locks import lock\n"
             "with lock('m1', owner='test probe'):\n"
             f"    print(tango.DeviceProxy('{BEACON_DEVICE}').WhoLocked(['m0', 'm1']))\n"],
            env={**os.environ, **db_proc.env}, capture_output=True, text=True, timeout=60)
        assert probe.returncode == 0, probe.stderr[-2000:]
        assert json.loads(probe.stdout.strip().splitlines()[-1]) == {"m1": "test probe"}
    finally:
        kill_tree(axis.pid)
        db_proc.stop()


def test_reload_refuses_an_invalid_tree_and_keeps_serving(cfg, yamldb):
    beacon = tango.DeviceProxy(f"tango://{yamldb.tango_host}/{BEACON_DEVICE}")
    db = tango.Database("127.0.0.1", yamldb.port)
    write(cfg, "tango/extra.yml", """
        server: Extra
        instances:
          one:
            devices:
              - tango_name: demo/axis/m0
                class: Extra
        """)
    with pytest.raises(tango.DevFailed, match="previous one is still served"):
        beacon.Reload()
    errors = beacon.ConfigErrors
    assert any(e.startswith("tango/extra.yml:5:") and "demo/axis/m0" in e for e in errors), errors
    assert db.get_class_for_device("demo/axis/m0") == "BlissAxis"  # still the old tree

    write(cfg, "tango/extra.yml", """
        server: Extra
        instances:
          one:
            devices:
              - tango_name: id00/extra/1
                class: Extra
                properties: {Speed: 3}
        """)
    changes = json.loads(beacon.Reload())
    assert changes == {"added": [], "removed": [], "modified": []}  # no config *object* changed
    assert not beacon.ConfigErrors
    assert db.get_class_for_device("id00/extra/1") == "Extra"
    assert list(db.get_device_property("id00/extra/1", "Speed")["Speed"]) == ["3"]
