"""TangoAttrCounter on Debian's C++ TangoTest (a real device server, no database), the
counters config plugin on the demo tree, and persisted measurement groups."""

import shutil

import pytest
import tango
from helpers.tangotest import tangotest_nodb

from blisstango.core.config import ConfigError, ObjectFactory, load_tree
from blisstango.core.counters import (
    MeasurementGroup,
    MeasurementGroups,
    SimulationCounter,
    SimulationCounterController,
    TangoAttrCounter,
)
from blisstango.core.scanning.scans import ct, loopscan


@pytest.fixture(scope="module")
def tangotest(tmp_path_factory):
    """TangoTest serving sys/tg_test/1 without a database, on a free port."""
    with tangotest_nodb("test", tmp_path_factory.mktemp("tangotest") / "tangotest.log") as name:
        yield name


def test_tango_attributes_counted_in_a_scan(scan_context, tangotest):
    tango.DeviceProxy(tangotest).write_attribute("ampli", 3.5)
    ampli = TangoAttrCounter("tg_ampli", tangotest, "ampli", unit="V")
    dbl = TangoAttrCounter("tg_double", tangotest, "double_scalar")
    assert ampli.controller is dbl.controller  # one read_attributes per point for the device
    scan = loopscan(5, 0.01, ampli, dbl)
    assert list(scan.get_data("tg_ampli")) == [3.5] * 5
    assert len(scan.get_data("tg_double")) == 5
    assert scan.publisher.info["channels"][ampli.fullname]["unit"] == "V"
    bad = TangoAttrCounter("tg_bad", tangotest, "no_such_attribute")
    with pytest.raises(Exception, match="no_such_attribute"):
        ct(0, bad)


def test_counters_plugin_builds_the_demo_counters(demo_config, tmp_path, redis_servers):
    dst = tmp_path / "beamline"
    shutil.copytree(demo_config, dst)
    f = ObjectFactory(load_tree(dst))
    diode, diode2 = f.get("diode"), f.get("diode2")
    assert isinstance(diode, SimulationCounter) and diode.axis is f.get("m0")
    assert (diode.curve, diode.center, diode.fwhm, diode.unit) == ("gaussian", 2.5, 1.2, "counts")
    assert diode2.axis is f.get("m1") and diode2.curve == "linear" and diode2.slope == 2.0
    (dst / "counters" / "more.yml").write_text(
        "- name: mg_demo\n  class: MeasurementGroup\n  counters: [$diode, $diode2]\n"
        "- name: weird\n  class: NoSuchCounter\n")
    f = ObjectFactory(load_tree(dst))
    assert [c.name for c in f.get("mg_demo").enabled] == ["diode", "diode2"]
    with pytest.raises(ConfigError, match=r"counters/more.yml:4.*NoSuchCounter"):
        f.get("weird")


def test_measurement_groups_persist_and_feed_scans(scan_context, redis_servers):
    import redis

    settings = redis.Redis.from_url(redis_servers.settings_url)
    ctrl = SimulationCounterController("mgsim")
    a, b, c = (SimulationCounter(n, curve="flat", background=i, controller=ctrl) for i, n in
               enumerate(("mga", "mgb", "mgc")))
    settings.delete("settings:mg1", "settings:mg2", f"settings:{scan_context.session}")
    groups = MeasurementGroups(scan_context.session, settings)
    mg1 = groups.add(MeasurementGroup("mg1", [a, b, c], settings))
    groups.add(MeasurementGroup("mg2", [c], settings))
    assert groups.active is mg1
    mg1.disable("mgb")
    scan_context.measurement_groups = groups
    scan = loopscan(2, 0)
    assert "mga" in scan.get_data() and "mgc" in scan.get_data() and "mgb" not in scan.get_data()
    groups.set_active("mg2")
    # a restart: new objects read what was persisted
    again = MeasurementGroups(scan_context.session, settings)
    mg1b = again.add(MeasurementGroup("mg1", [a, b, c], settings))
    again.add(MeasurementGroup("mg2", [c], settings))
    assert again.active.name == "mg2" and mg1b.disabled == ["mgb"]
    mg1b.enable()
    assert [x.name for x in mg1b.enabled] == ["mga", "mgb", "mgc"]
    with pytest.raises(KeyError, match="no counter 'nope'"):
        mg1b.disable("nope")
    scan_context.measurement_groups = None
    with pytest.raises(ValueError, match="no counter given"):
        loopscan(2, 0)
