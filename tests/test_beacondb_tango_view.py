"""The Tango view of a configuration tree: derived devices and its validation errors."""

from __future__ import annotations

from helpers.config_trees import copy_demo, write

from blisstango.core.config import load_tree
from blisstango.core.config.tango_view import tango_view


def test_demo_axes_become_devices_with_alias_class_server_and_object_name(tmp_path):
    view = tango_view(load_tree(copy_demo(tmp_path / "cfg")))
    m0 = view.devices["demo/axis/m0"]
    assert (m0.server, m0.klass, m0.alias) == ("AxisManager/demo", "BlissAxis", "m0")
    assert m0.properties["ObjectName"] == ["m0"]
    assert (m0.file, m0.object) == ("motors/mockup.yml", "m0")
    assert view.devices["demo/axismanager/demo"].klass == "AxisManagerDevice"
    assert not view.errors


def test_tango_block_overrides_and_plain_servers(tmp_path):
    root = copy_demo(tmp_path / "cfg")
    text = (root / "motors/mockup.yml").read_text().replace(
        "    - name: m1\n", "    - name: m1\n      tango: {device: id00/mot/one, alias: one, "
        "properties: {EventPeriod: 0.1}}\n", 1)
    (root / "motors/mockup.yml").write_text(text)
    write(root, "tango/tangotest.yml", """
        # a C++ TangoTest
        server: TangoTest
        instances:
          test:
            devices:
              - tango_name: sys/tg_test/1
                class: TangoTest
                alias: tg
                properties: {Mode: fast, Values: [1, 2.5, true]}
                attribute_properties: {ampli: {unit: V}}
        """)
    view = tango_view(load_tree(root))
    assert not view.errors, view.errors
    one = view.devices["id00/mot/one"]
    assert (one.alias, one.properties) == ("one", {"ObjectName": ["m1"], "EventPeriod": ["0.1"]})
    tg = view.devices["sys/tg_test/1"]
    assert (tg.server, tg.klass, tg.alias) == ("TangoTest/test", "TangoTest", "tg")
    assert tg.properties == {"Mode": ["fast"], "Values": ["1", "2.5", "true"]}
    assert tg.attribute_properties == {"ampli": {"unit": ["V"]}}
    assert (tg.file, tg.line) == ("tango/tangotest.yml", 6)


def test_validation_errors_name_file_and_line(tmp_path):
    root = copy_demo(tmp_path / "cfg")
    write(root, "tango/bad.yml", """
        - server: TangoTest
          instances:
            t1:
              devices:
                - tango_name: demo/axis/m0
                  class: TangoTest
                - name: oops
                  class: X
                - tango_name: not-a-device
                  class: X
        - server: Broken
          instances: [a, b]
        - instances: {}
        """)
    text = (root / "motors/mockup.yml").read_text().replace(
        "    - name: m1\n", "    - name: m1\n      tango: {class: NoSuchClass}\n", 1)
    (root / "motors/mockup.yml").write_text(text)
    errors = [str(e) for e in tango_view(load_tree(root)).errors]
    expect = [
        ("tango/bad.yml:5:", "demo/axis/m0 is defined twice", "motors/mockup.yml:7"),
        ("tango/bad.yml:7:", "tango_name:", "not `name:`"),
        ("tango/bad.yml:9:", "domain/family/member", "not-a-device"),
        ("tango/bad.yml:11:", "Broken", "instances"),
        ("tango/bad.yml:13:", "malformed server block", "server:"),
        ("motors/mockup.yml:17:", "unknown Tango server class 'NoSuchClass'", "BlissAxis"),
    ]
    for parts in expect:
        assert any(all(p in e for p in parts) for e in errors), (parts, errors)
    assert len(errors) == len(expect), errors


def test_globals_block(tmp_path):
    root = copy_demo(tmp_path / "cfg")
    write(root, "tango/globals.yml", """
        # class and free-object properties, attribute aliases
        classes:
          TangoTest:
            properties: {Doc: [a, b]}
            attribute_properties: {ampli: {unit: mV}}
        free_properties:
          Beamline: {energy: 12.4}
        attribute_aliases:
          amp: sys/tg_test/1/Ampli
        """)
    view = tango_view(load_tree(root))
    assert not view.errors, view.errors
    assert view.class_properties == {"TangoTest": {"Doc": ["a", "b"]}}
    assert view.class_attribute_properties == {"TangoTest": {"ampli": {"unit": ["mV"]}}}
    assert view.free_properties == {"Beamline": {"energy": ["12.4"]}}
    assert view.attribute_aliases == {"amp": "sys/tg_test/1/ampli"}
    write(root, "tango/more.yml", """
        attribute_aliases: {bad: not/an/attribute}
        classes: []
        """)
    errors = [str(e) for e in tango_view(load_tree(root)).errors]
    assert any(e.startswith("tango/more.yml:1:") and "second globals block" in e for e in errors), errors
