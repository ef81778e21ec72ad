"""Settings in the real settings Redis: typed values, defaults, cross-process sharing."""

import uuid

import numpy as np
import pytest
from helpers.beacon_child import BeaconChild

from blisstango.core.beacon import connection
from blisstango.core.beacon.settings import (
    HashSetting,
    QueueSetting,
    SimpleSetting,
    object_settings,
)


def _name(prefix="t"):
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("value", [2, 2.0, 0, -1.5e-300, True, False, "2", "", "ünï",
                                   [1, 2.5, "a", None, [True]], {"a": {"b": [1, 2.0]}},
                                   float("inf")])
def test_typed_round_trip(redis_servers, value):
    h = object_settings(_name())
    h["v"] = value
    back = object_settings(h.name.removeprefix("settings:"))["v"]
    assert back == value and type(back) is type(value)
    s = SimpleSetting(_name())
    s.value = value
    assert SimpleSetting(s.name).value == value and type(SimpleSetting(s.name).value) is type(value)


def test_numpy_values_come_back_as_python_numbers(redis_servers):
    h = object_settings(_name())
    h["pos"] = np.float64(1.25)
    h["lims"] = np.array([-1, 1])
    assert h["pos"] == 1.25 and type(h["pos"]) is float
    assert h["lims"] == [-1, 1]


def test_object_settings_key_and_json_storage(redis_servers):
    name = _name("m")
    h = object_settings(name, defaults={"velocity": 1.0})
    assert isinstance(h, HashSetting) and h.name == f"settings:{name}"
    h["velocity"] = 2
    raw = connection.get_redis("settings").hgetall(f"settings:{name}")
    assert raw == {b"velocity": b"2"}


def test_defaults_are_superseded_and_none_removes(redis_servers):
    h = object_settings(_name(), defaults={"velocity": 1.0, "acceleration": 10.0})
    assert h["velocity"] == 1.0 and h.stored() == {}
    h["velocity"] = 2.0
    assert h["velocity"] == 2.0
    assert h.get_all() == {"velocity": 2.0, "acceleration": 10.0}
    assert h.stored() == {"velocity": 2.0}
    h["velocity"] = None
    assert h["velocity"] == 1.0 and h.stored() == {}
    with pytest.raises(KeyError, match="offset"):
        h["offset"]
    h.update({"offset": 0.5, "acceleration": None, "sign": -1})
    assert h.stored() == {"offset": 0.5, "sign": -1}
    h.clear()
    assert h.get_all() == {"velocity": 1.0, "acceleration": 10.0}


def test_simple_setting_default_and_removal(redis_servers):
    s = SimpleSetting(_name(), default=3)
    assert s.value == 3 and not s.stored()
    s.value = [1, 2]
    assert SimpleSetting(s.name, default=3).get() == [1, 2] and s.stored()
    s.value = None
    assert s.value == 3 and not s.stored()


def test_queue_setting(redis_servers):
    q = QueueSetting(_name())
    q.extend([1, "two", {"three": 3}])
    q.append(4.0)
    q.prepend(0)
    assert q.get() == [0, 1, "two", {"three": 3}, 4.0] and len(q) == 5
    assert q[2] == "two" and q[-1] == 4.0
    assert q.pop_front() == 0 and q.pop_back() == 4.0
    assert q.remove("two") == 1
    q.set(["a", "b"])
    assert list(q) == ["a", "b"]
    q.clear()
    with pytest.raises(IndexError, match=q.name):
        q.pop_front()


def test_a_setting_written_by_one_process_is_read_by_another(redis_servers):
    key = f"settings:{_name('m')}"
    writer, reader = BeaconChild(), BeaconChild()
    try:
        writer.call("setting_set", key=key, field="limits", value=[-5, 5.5])
        assert reader.call("setting_get", key=key, field="limits") == [-5, 5.5]
        HashSetting(key)["limits"] = None
        assert reader.call("setting_get", key=key, field="limits") is None
    finally:
        writer.exit()
        reader.exit()
