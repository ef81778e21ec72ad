"""core.objects: an object's interface typed from its annotations, unmappable members
named, the `object` config plugin, announcements."""

from __future__ import annotations

import enum

import pytest
from helpers.config_trees import DEMO, copy_tree, write

from blisstango.core.config import ConfigError, ObjectFactory, load_tree
from blisstango.core.objects.announce import announce, connect, disconnect
from blisstango.core.objects.members import UnmappableMembers, ValueType, interface, value_type


class Mode(enum.Enum):
    SLOW = 1
    FAST = 2


class Good:
    LIMIT = 3          # a class constant: not a member

    def __init__(self) -> None:
        self._mode = Mode.SLOW

    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, value: Mode) -> None:
        self._mode = value

    @property
    def readings(self) -> list[float]:
        return [1.0, 2.5]

    def scale(self, factor: float, offset: int = 0) -> float:
        return 2.0 * factor + offset

    def label(self, text: str, times: int) -> str:
        return text * times

    def settings(self) -> dict:
        return {"a": 1}

    def reset(self) -> None:
        pass

    def _private(self, x):
        return x


class Sample:
    pass


class Bad(Good):
    @property
    def owner(self):
        return "me"

    def load(self, sample: Sample) -> None:
        pass

    def count(self, n: int):
        return n

    def maybe(self, x: float | None) -> None:
        pass


def test_members_are_typed_from_annotations():
    i = interface("good", Good(), {"name": "good", "plugin": "object", "class": "x:Good", "gain": 2,
                                   "pins": [1, 2], "mixed": [1, 2.5], "words": ["a", "b"], "nested": {"k": 1},
                                   "bad-key": 1, "mode": "ignored: the property wins", "tango": {"export": True}})
    props = {p.name: (p.type, p.writable) for p in i.properties}
    assert props == {"mode": (ValueType(Mode), True), "readings": (ValueType(float, True), False)}
    methods = {m.name: ([(p.name, p.type.label(), p.required) for p in m.parameters],
                        m.returns.label() if m.returns else None) for m in i.methods}
    assert methods == {"scale": ([("factor", "float", True), ("offset", "int", False)], "float"),
                       "label": ([("text", "str", True), ("times", "int", True)], "str"),
                       "settings": ([], "dict"), "reset": ([], None)}
    config = {c.name: c.type for c in i.config}
    assert config == {"gain": ValueType(int), "pins": ValueType(int, True), "mixed": ValueType(float, True),
                      "words": ValueType(str, True), "nested": ValueType(dict), "bad_key": ValueType(int)}
    scale = next(m for m in i.methods if m.name == "scale")
    assert scale.call(Good(), [1.5]) == 3.0 and scale.call(Good(), [1.5, 2.0]) == 5.0
    with pytest.raises(ValueError, match=r"^scale: parameter 'offset': 2.5 is not an integer"):
        scale.call(Good(), [1.0, 2.5])
    mode = next(p for p in i.properties if p.name == "mode")
    obj = Good()
    mode.write(obj, "FAST")
    assert obj.mode is Mode.FAST and mode.read(obj) == "FAST"


def test_unmappable_members_are_named_all_at_once():
    with pytest.raises(UnmappableMembers) as err:
        interface("bad", Bad(), {})
    assert err.value.problems == [
        "method 'count' has no return annotation (write -> None when it returns nothing)",
        "method 'load': parameter 'sample' has type Sample, which has no Tango type",
        "method 'maybe': parameter 'x' float | None may be None, which Tango cannot carry",
        "property 'owner' has no annotation",
    ]
    assert str(err.value).startswith("bad: 4 member(s) cannot be served: method 'count'")


def test_export_of_chosen_members_only():
    i = interface("bad", Bad(), {}, members=["scale", "mode"])
    assert [m.name for m in i.methods] == ["scale"] and [p.name for p in i.properties] == ["mode"]
    with pytest.raises(UnmappableMembers, match=r"member 'nothing': no public property or method of Bad"):
        interface("bad", Bad(), {}, members=["scale", "nothing"])


def test_value_types_and_text():
    assert value_type(None) is None and value_type(list[int]) == ValueType(int, True)
    assert value_type(tuple[float, ...]) == ValueType(float, True)
    with pytest.raises(TypeError, match="mixes types"):
        value_type(tuple[int, str])
    assert ValueType(bool).from_text("on") is True and ValueType(int).from_text("4.0") == 4
    assert ValueType(float, True).from_text("[1, 2.5]") == [1.0, 2.5]
    assert ValueType(float, True).from_text("1, 2.5") == [1.0, 2.5]
    assert ValueType(Mode).from_text("FAST") is Mode.FAST
    with pytest.raises(ValueError, match="'MEDIUM' is none of SLOW, FAST"):
        ValueType(Mode).from_text("MEDIUM")


def test_announcements_reach_connected_listeners_only():
    obj, seen = Good(), []

    def listener(name, value):
        seen.append((name, value))

    announce(obj, "mode", Mode.FAST)        # nobody listens: nothing kept
    connect(obj, listener)
    announce(obj, "mode", Mode.SLOW)
    disconnect(obj, listener)
    announce(obj, "mode", Mode.FAST)
    assert seen == [("mode", Mode.SLOW)]


def test_the_object_plugin_builds_the_demo_attenuator(tmp_path):
    tree = load_tree(copy_tree(DEMO, tmp_path / "config"))
    att = ObjectFactory(tree).get("att1")
    assert type(att).__name__ == "AttenuatorBox" and att.thicknesses == [0.05, 0.1, 0.2, 0.4]
    i = interface("att1", att, tree["att1"].to_dict())
    assert {m.name for m in i.methods} == {"insert", "remove", "set_transmission"}
    assert {p.name for p in i.properties} == {"energy", "inserted", "thickness", "transmission"}
    assert {c.name for c in i.config} >= {"material", "filters", "mu", "travel_time"}


def test_the_demo_attenuator_at_an_energy_where_no_beam_passes(tmp_path):
    """At a low energy every filter stops the whole beam (a transmission below the
    smallest float): set_transmission still chooses (in log space, the thinnest filters
    of the least transmission) and a non-finite energy is refused in words."""
    import math

    tree = load_tree(copy_tree(DEMO, tmp_path / "config"))
    att = ObjectFactory(tree).get("att1")
    att.travel_time = 0.0
    att.energy = 0.01  # keV: mu ~ 1.4e10 / mm, one filter passes exp(-7e8)
    att.insert(0)
    assert att.transmission == 0.0
    # ln(6.1e-178) = -408 is nearer to no filter (0) than to any filter (-7e8 and below)
    assert att.set_transmission(6.1e-178) == 1.0 and att.inserted == [False] * 4
    att.energy = 1e-300  # mu overflows a float
    att.insert(1)
    assert att.transmission == 0.0 and att.set_transmission(0.5) == 1.0
    for bad in (math.inf, math.nan, 0.0, -1.0):
        with pytest.raises(ValueError, match="energy .* keV must be a positive finite number"):
            att.energy = bad


def test_the_object_plugin_names_file_and_line_of_a_bad_class(tmp_path):
    root = tmp_path / "config"
    write(root, "objects.yml", """
        - name: thing
          plugin: object
          class: ./missing.py:Thing
        - name: other
          plugin: object
          class: ./thing.py:Nope
        """)
    write(root, "thing.py", "class Thing:\n    pass\n")
    factory = ObjectFactory(load_tree(root))
    with pytest.raises(ConfigError, match=r"^objects.yml:3: class './missing.py:Thing': no file .*missing.py"):
        factory.get("thing")
    with pytest.raises(ConfigError, match=r"^objects.yml:6: class './thing.py:Nope' cannot be loaded: "
                                          r"AttributeError"):
        factory.get("other")
