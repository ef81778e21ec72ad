"""The one rule by which a device finds the configuration object it serves
(servers.config_object + core.config.root.process_object)."""

from __future__ import annotations

import pytest

from blisstango.core.config.root import built_process_objects, process_object, reset_process_objects
from blisstango.core.counters.sampling import SamplingCounter
from blisstango.core.motion import Axis
from blisstango.servers.config_object import object_name


@pytest.fixture
def demo_objects(demo_config, monkeypatch):
    monkeypatch.setenv("BLISSTANGO_CONFIG", str(demo_config))
    reset_process_objects()
    yield
    reset_process_objects()


def test_process_object_is_built_once_and_refused_when_of_another_kind(demo_objects):
    assert built_process_objects() == []  # nothing built (nor a tree read) before first use
    diode = process_object("diode", SamplingCounter)
    assert process_object("diode", SamplingCounter) is diode  # devices sharing it share one object
    assert any(obj is diode for obj in built_process_objects())
    with pytest.raises(TypeError, match="diode is a SimulationCounter, not a motion axis"):
        process_object("diode", Axis, "motion axis")


class _Named:
    """What object_name reads of a device: its Tango name."""

    def get_name(self) -> str:
        return "demo/axis/m0"


def test_object_name_prefers_the_first_property_given():
    assert object_name(_Named(), "", "mx") == "mx"
    assert object_name(_Named(), "m7", "mx") == "m7"
