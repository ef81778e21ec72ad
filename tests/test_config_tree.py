"""Loading real trees: the demo beamline, inheritance, sessions, diff, plugins."""

from __future__ import annotations

import pytest
from helpers.config_trees import copy_sample, line_of, write

from blisstango.core.config import (
    ConfigError,
    ConfigErrors,
    ConfigNode,
    ObjectFactory,
    load_tree,
)
from blisstango.core.config.plugins import (
    get_plugin,
    known_plugins,
    register_plugin,
    unregister_plugin,
)


def test_demo_tree_objects(demo_config):
    tree = load_tree(demo_config)
    assert tree.root == demo_config.resolve()
    for name in ("m0", "m1", "sl_up", "sl_down", "sl_vgap", "sl_voffset", "slits",
                 "mockctrl", "diode", "diode2", "demo"):
        assert name in tree
    assert tree.names() == sorted(tree.names())
    m0 = tree["m0"]
    assert isinstance(m0, ConfigNode)
    mockup = demo_config / "motors" / "mockup.yml"
    assert (m0.plugin, m0.file) == ("emotion", "motors/mockup.yml")
    assert m0.line == line_of(mockup, "- name: m0")
    assert m0["velocity"] == 5.0 and m0.get("nope", 1.5) == 1.5 and "velocity" in m0
    assert m0.key_line("velocity") == line_of(mockup, "velocity: 5.0")
    assert m0.parent.name == "mockctrl"
    assert [c.name for c in tree["mockctrl"].children][:4] == ["m0", "m1", "sl_up", "sl_down"]
    # a `name: $sl_up` item is a reference, not a second object
    assert [c.name for c in tree["slits"].children][:2] == ["sl_vgap", "sl_voffset"]
    assert tree["diode"].plugin == "counters"
    assert tree["diode"].deref("axis") is m0
    axes = tree["slits"].deref("axes")
    assert axes[0]["name"] is tree["sl_up"] and axes[2]["name"] == "sl_vgap"
    assert tree.domain_of("m0") == "demo" and tree.domain_of("diode") == "demo"
    assert {n.name for n in tree.objects_by_plugin("counters")} == {"diode", "diode2"}
    assert "motors/__init__.yml" in tree.files() and "motors/mockup.yml" in tree.files()
    with pytest.raises(KeyError, match="no object named 'm99'"):
        tree["m99"]
    assert tree.get("m99") is None


def test_demo_session(demo_config):
    tree = load_tree(demo_config)
    assert tree.sessions() == ["demo"]
    s = tree.get_session("demo")
    assert {"diode", "diode2", "m0", "m1", "sl_down", "sl_up", "sl_vgap",
            "sl_voffset"} <= set(s.object_names)
    assert s.object_names == sorted(s.object_names)
    assert s.setup_files == [demo_config.resolve() / "sessions" / "demo_setup.py"]
    assert "demo session ready" in s.setup_text()
    assert s.included == []
    with pytest.raises(ConfigError, match="no session named 'm0'"):
        tree.get_session("m0")


def test_to_dict_inherits_and_own_keys(tmp_path):
    write(tmp_path, "__init__.yml", """
        plugin: default
        tango:
          domain: top
        colour: red
    """)
    write(tmp_path, "a/__init__.yml", """
        tango:
          server: near   # nearer folder adds and overrides
        colour: blue
    """)
    write(tmp_path, "a/b/objs.yml", """
        - name: x
          colour: green
          tango:
            domain: mine
        - name: y
    """)
    write(tmp_path, "top.yml", "name: z\n")
    tree = load_tree(tmp_path)
    assert tree["y"].to_dict() == {"plugin": "default", "tango": {"domain": "top",
                                   "server": "near"}, "colour": "blue", "name": "y"}
    assert tree["x"]["colour"] == "green"
    assert tree["x"]["tango"] == {"domain": "mine", "server": "near"}
    assert tree["x"].own_keys() == ["name", "colour", "tango"]
    assert tree["z"]["colour"] == "red" and tree.domain_of("z") == "top"
    assert tree.domain_of("x") == "mine" and tree.domain_of("y") == "top"
    assert tree["y"].key_location("colour") == ("a/__init__.yml", 3)
    assert tree["y"].plugin == "default"


def test_own_plugin_beats_folder_default_and_children_follow_parent(tmp_path):
    write(tmp_path, "__init__.yml", "plugin: default\n")
    write(tmp_path, "s.yml", """
        - name: ctrl
          plugin: session
          config-objects: [leaf]
          parts:
            - name: inner
        - name: leaf
    """)
    tree = load_tree(tmp_path)
    assert tree["ctrl"].plugin == "session" and tree["inner"].plugin == "session"
    assert tree["leaf"].plugin == "default"


def test_sessions_wildcards_includes(tmp_path):
    write(tmp_path, "objs.yml", """
        - name: mot_a
        - name: mot_b
        - name: det_1
        - name: det_2
    """)
    write(tmp_path, "sessions/__init__.yml", "plugin: session\n")
    write(tmp_path, "sessions/base_setup.py", "BASE = 1\n")
    write(tmp_path, "sessions/top_setup.py", "TOP = 1\n")
    write(tmp_path, "sessions/s.yml", """
        - name: base
          config-objects: ['mot_*']
          setup-file: base_setup.py
        - name: mid
          include-sessions: [base]
          config-objects: [det_1]
        - name: top
          include-sessions: mid
          config-objects: ['det_?']
          exclude-objects: [det_2]
          setup-file: ./top_setup.py
        - name: everything
    """)
    tree = load_tree(tmp_path)
    top = tree.get_session("top")
    assert top.object_names == ["det_1", "mot_a", "mot_b"]
    assert top.included == ["base", "mid"]
    assert [p.name for p in top.setup_files] == ["base_setup.py", "top_setup.py"]
    assert top.setup_text().index("BASE = 1") < top.setup_text().index("TOP = 1")
    assert tree.get_session("mid").object_names == ["det_1", "mot_a", "mot_b"]
    # a session listing nothing holds every object (as BLISS does), sessions excluded
    assert tree.get_session("everything").object_names == ["det_1", "det_2", "mot_a", "mot_b"]
    assert tree.sessions() == ["base", "everything", "mid", "top"]


def test_diff_added_removed_modified(tmp_path):
    root = copy_sample(tmp_path / "demo")
    old = load_tree(root)
    mock = root / "motors" / "mockup.yml"
    mock.write_text(mock.read_text().replace("velocity: 5.0", "velocity: 6.0"))
    (root / "counters" / "more.yml").write_text("- name: diode3\n  class: SimulationCounter\n")
    sim = root / "counters" / "simulation.yml"
    text = sim.read_text()
    sim.write_text(text[:text.index("- name: diode2")])
    sess = root / "sessions" / "demo.yml"
    sess.write_text(sess.read_text().replace("    - diode2\n", ""))
    new, changes = old.reload()
    assert changes.added == {"diode3"}
    assert changes.removed == {"diode2"}
    assert changes.modified == {"m0", "mockctrl", "demo"}
    assert old.diff(new) == changes and bool(changes)
    assert not new.diff(load_tree(root))
    # an inherited default counts: every object of the folder changes with __init__.yml
    (root / "counters" / "__init__.yml").write_text("plugin: counters\ngain: 2\n")
    assert new.diff(load_tree(root)).modified == {"diode", "diode3"}


def test_plugin_registry_and_factory(tmp_path):
    assert {"default", "session", "emotion", "counters"} <= known_plugins()
    write(tmp_path, "objs.yml", """
        - name: thing
          plugin: testkind
          other: $plain
        - name: plain
          size: 3
    """)
    with pytest.raises(ConfigErrors, match="unknown plugin 'testkind'"):
        load_tree(tmp_path)
    built = []

    def build(node, factory):
        built.append(node.name)
        return ("thing", factory.get(node["other"][1:]))

    register_plugin("testkind", build)
    try:
        assert "testkind" in known_plugins()
        tree = load_tree(tmp_path)
        factory = ObjectFactory(tree)
        obj = factory.get("thing")
        assert obj == ("thing", {"name": "plain", "size": 3})
        assert factory.get("thing") is obj and built == ["thing"]
        assert get_plugin("testkind") is build
    finally:
        unregister_plugin("testkind")
    assert "testkind" not in known_plugins()
    register_plugin("bystring", "blisstango.core.config.builtin_plugins:build_default")
    try:
        assert get_plugin("bystring").__name__ == "build_default"
    finally:
        unregister_plugin("bystring")


def test_session_plugin_builds_session(demo_config):
    tree = load_tree(demo_config)
    session = ObjectFactory(tree).get("demo")
    assert session.name == "demo" and "m0" in session.object_names


def test_non_strict_load_keeps_the_valid_part(tmp_path):
    write(tmp_path, "a.yml", "- name: good\n- name: bad\n  ref: $nothing\n")
    tree = load_tree(tmp_path, strict=False)
    assert "good" in tree and len(tree.errors) == 1
    assert str(tree.errors[0]) == "a.yml:3: bad: reference $nothing names no object"


def test_yaml_values_lines_and_merge_keys(tmp_path):
    write(tmp_path, "a.yml", """
        base: &base {speed: 1, limit: .inf}
        objects:
          - name: x
            <<: *base
            speed: 2          # overrides the merged value, not a duplicate
            hex: 0x10
            quoted: "12"
            flag: yes
            none: ~
            when: 2020-01-02
            list: [1, "2", a]
    """)
    x = load_tree(tmp_path)["x"]
    assert x.to_dict() == {"name": "x", "speed": 2, "limit": float("inf"), "hex": 16,
                           "quoted": "12", "flag": True, "none": None,
                           "when": __import__("datetime").date(2020, 1, 2),
                           "list": [1, "2", "a"]}
    assert (x.line, x.key_line("speed"), x.key_line("list")) == (3, 5, 11)


def test_merge_key_after_nested_objects_keeps_them(tmp_path):
    # a `<<` met after the axes rebuilds the mapping: its axes are still objects, once
    write(tmp_path, "a.yml", """
        - name: ctrl
          axes:
            - name: ax1
          <<: {plugin: default, velocity: 1}
    """)
    tree = load_tree(tmp_path)
    assert tree.names() == ["ax1", "ctrl"]
    assert tree["ax1"].parent.name == "ctrl" and tree["ctrl"]["velocity"] == 1
