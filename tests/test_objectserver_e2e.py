"""ObjectServer end to end: `blisstango up` of a small tree (BeaconDB + ObjectServer),
configuration objects without a server of their own read and called from a plain PyTango
client, compared with the same objects built in this process."""

from __future__ import annotations

import json

import pytest
import tango
from helpers.config_trees import DEMO, write
from helpers.demo_stack import DemoStack
from helpers.events import ChangeEvents

from blisstango.core.config import ObjectFactory, load_tree

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

BROKEN = '''
class Sample:
    pass


class SampleChanger:
    """A class with members Tango cannot carry."""

    def __init__(self, name, config):
        self.name = name

    @property
    def slots(self) -> int:
        return 8

    @property
    def owner(self):
        return "nobody"

    def load(self, sample: Sample) -> None:
        pass

    def unload(self) -> None:
        pass
'''


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("objects")
    config = root / "tree"
    write(config, "__init__.yml", "tango:\n  domain: lab\n")
    (config / "objects").mkdir()
    for name in ("objects.yml", "attenuator.py"):
        (config / "objects" / name).write_text((DEMO / "objects" / name).read_text())
    write(config, "changers/changer.py", BROKEN)
    write(config, "changers/changers.yml", """
        - name: changer
          plugin: object
          class: ./changer.py:SampleChanger
          tango: {export: true}
        - name: changer_lite
          plugin: object
          class: ./changer.py:SampleChanger
          tango:
            export: [slots, unload]     # only members that can be served
            server: lite
        """)
    with DemoStack(root / "stack", config, expect_fault=("lab/object/changer",)) as s:
        yield s


@pytest.fixture(scope="module")
def local(stack):
    """The same objects built in this process from the same YAML."""
    return ObjectFactory(load_tree(stack.config))


def test_one_server_instance_per_tango_server_key(stack):
    db = tango.Database(*stack.tango_host.split(":"))
    assert sorted(db.get_device_class_list("ObjectServer/default")[::2]) == [
        "dserver/ObjectServer/default", "lab/object/att1", "lab/object/beamline", "lab/object/changer"]
    assert list(db.get_device_class_list("ObjectServer/lite")[1::2]) == ["DServer", "GenericObject_changer_lite"]


def test_attributes_and_commands_return_what_the_object_returns(stack, local):
    dev = stack.device("lab/object/att1")
    att = local.get("att1")
    assert dev.state() == tango.DevState.ON
    assert dev.transmission == pytest.approx(att.transmission) == 1.0
    assert list(dev.inserted) == att.inserted == [False] * 4
    reached = dev.set_transmission(0.3)
    assert reached == pytest.approx(att.set_transmission(0.3))
    assert list(dev.inserted) == att.inserted and dev.thickness == pytest.approx(att.thickness)
    dev.insert(3)
    att.insert(3)
    assert dev.transmission == pytest.approx(att.transmission)
    dev.energy = 20.0
    att.energy = 20.0
    assert dev.transmission == pytest.approx(att.transmission)
    # configuration keys as read-only attributes
    assert dev.material == "Al" and list(dev.filters) == [0.05, 0.1, 0.2, 0.4] and dev.mu == 7.3
    assert json.loads(dev.Config)["filters"] == [0.05, 0.1, 0.2, 0.4]
    with pytest.raises(tango.DevFailed):
        dev.write_attribute("material", "Cu")
    info = dev.get_attribute_config("transmission")
    assert info.writable == tango.AttrWriteType.READ and "passes the inserted filters" in info.description
    assert dev.command_query("set_transmission").in_type == tango.DevDouble
    assert json.loads(dev.Interface)["methods"]["insert"] == {"parameters": [["index", "int"]], "returns": None}


def test_errors_of_the_object_reach_the_client_naming_it(stack):
    dev = stack.device("lab/object/att1")
    with pytest.raises(tango.DevFailed) as err:
        dev.insert(7)
    assert err.value.args[0].reason == "ValueError"
    assert err.value.args[0].desc == "att1: no filter 7 (filters 0..3)"
    with pytest.raises(tango.DevFailed) as err:
        dev.energy = -1.0
    assert err.value.args[0].desc == "att1: energy -1.0 keV must be a positive finite number"
    assert dev.state() == tango.DevState.ON


def test_announced_properties_push_change_events(stack):
    dev = stack.device("lab/object/att1")
    with ChangeEvents(dev, "transmission") as seen:
        dev.energy = 12.4
        dev.set_transmission(1.0)
        target = dev.transmission
        assert seen.wait_for(lambda v: len(v) >= 2 and v[-1] == pytest.approx(target), 10), seen.values


def test_a_plain_configuration_object(stack):
    dev = stack.device("lab/object/beamline")
    assert dev.energy == 12.4 and dev.ring == "ESRF-EBS" and dev.proposal == "demo-0001"
    assert "beamline (configuration)" in dev.status()


def test_unmappable_members_are_reported_at_start(stack):
    dev = stack.device("lab/object/changer")
    assert dev.state() == tango.DevState.FAULT
    status = dev.status()
    assert status.startswith("changer: 2 member(s) cannot be served: ")
    assert "method 'load': parameter 'sample' has type Sample, which has no Tango type" in status
    assert "property 'owner' has no annotation" in status
    with pytest.raises(tango.DevFailed) as err:
        dev.read_attribute("Config")
    assert err.value.args[0].reason == "ObjectInitError" and err.value.args[0].desc == status
    assert "property 'owner' has no annotation" in stack.log("ObjectServer_default")
    lite = stack.device("lab/object/changer_lite")       # the members it can serve, chosen in YAML
    assert lite.state() == tango.DevState.ON and lite.slots == 8 and lite.unload() is None
