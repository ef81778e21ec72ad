"""A broken tree fails with every problem at once, each naming its file and line."""

from __future__ import annotations

import pytest
from helpers.config_trees import copy_sample, write

from blisstango.core.config import ConfigError, ConfigErrors, load_tree


def _errors(root) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as info:
        load_tree(root)
    return info.value.errors


def _one(errors, needle) -> ConfigError:
    found = [e for e in errors if needle in e.message]
    assert len(found) == 1, f"{needle!r} in {[str(e) for e in errors]}"
    return found[0]


@pytest.fixture
def broken(tmp_path):
    """The demo tree with one of each kind of mistake."""
    root = copy_sample(tmp_path / "demo")
    # duplicate: m1 again, in another file (line 3)
    write(root, "motors/extra.yml", """
        # a second m1 by mistake
        - name: m9
        - name: m1
          velocity: 1
    """)
    # dangling reference: diode2 follows an axis that does not exist (line 3)
    sim = root / "counters" / "simulation.yml"
    sim.write_text(sim.read_text().replace("axis: $m1", "axis: $m_missing"))
    # bad YAML (line 3: unclosed flow sequence)
    write(root, "counters/bad.yml", """
        - name: broken_counter
          channels: [a, b
        - name: other
    """)
    # include cycle: demo -> a -> b -> demo
    write(root, "sessions/more.yml", """
        - name: a
          include-sessions: [b]
        - name: b
          include-sessions:
            - demo
    """)
    sess = root / "sessions" / "demo.yml"
    sess.write_text(sess.read_text() + "  include-sessions: [a]\n")
    # unknown plugin (line 2), and a wildcard that matches nothing, a missing setup file
    write(root, "misc.yml", """
        - name: thingy
          plugin: no_such_plugin
        - name: lonely
          plugin: session
          config-objects: [m0, 'zz*', ghost]
          setup-file: nowhere.py
    """)
    return root


def test_every_error_found_with_file_and_line(broken):
    errors = _errors(broken)
    dup = _one(errors, "duplicate object name 'm1'")
    assert (dup.file, dup.line) == ("motors/mockup.yml", 16) or \
           (dup.file, dup.line) == ("motors/extra.yml", 3)
    assert "motors/extra.yml:3" in str(dup) and "motors/mockup.yml:16" in str(dup)

    ref = _one(errors, "$m_missing")
    assert (ref.file, ref.line) == ("counters/simulation.yml", 13)
    assert "diode2" in ref.message

    syntax = _one(errors, "YAML syntax error")
    assert syntax.file == "counters/bad.yml" and syntax.line == 3

    cycle = _one(errors, "include cycle")
    assert "a -> b -> demo -> a" in cycle.message or "demo -> a -> b -> demo" in cycle.message
    assert cycle.file in ("sessions/more.yml", "sessions/demo.yml") and cycle.line

    plugin = _one(errors, "unknown plugin 'no_such_plugin'")
    assert (plugin.file, plugin.line) == ("misc.yml", 2)
    assert "emotion" in plugin.message  # says which ones exist

    wildcard = _one(errors, "'zz*' matches no object")
    assert (wildcard.file, wildcard.line) == ("misc.yml", 5)
    ghost = _one(errors, "'ghost'")
    assert (ghost.file, ghost.line) == ("misc.yml", 5)
    setup = _one(errors, "setup-file 'nowhere.py' not found")
    assert (setup.file, setup.line) == ("misc.yml", 6)

    # str() of the whole collection: one "file:line: message" line per problem
    text = str(ConfigErrors(errors))
    assert "counters/simulation.yml:13: diode2: reference $m_missing names no object" in text
    assert len(text.splitlines()) == len(errors) == 8


def test_inherited_unknown_plugin_points_at_init_file(tmp_path):
    write(tmp_path, "things/__init__.yml", "# folder default\nplugin: gizmo\n")
    write(tmp_path, "things/t.yml", "- name: t1\n- name: t2\n")
    errors = _errors(tmp_path)
    assert len(errors) == 1
    assert (errors[0].file, errors[0].line) == ("things/__init__.yml", 2)
    assert "unknown plugin 'gizmo'" in errors[0].message


def test_duplicate_key_and_bad_names(tmp_path):
    write(tmp_path, "a.yml", """
        - name: x
          velocity: 1
          velocity: 2
        - name: [not, a, name]
        - name: has space
    """)
    errors = _errors(tmp_path)
    assert [(e.file, e.line) for e in errors] == [("a.yml", 3), ("a.yml", 4), ("a.yml", 5)]
    assert "duplicate key 'velocity' (first written at line 2)" in errors[0].message


def test_alias_of_an_object_is_a_duplicate_name_at_the_alias(tmp_path):
    # An alias copies the whole mapping, name included: BLISS treats every mapping with a
    # name as an object, so each alias (or merge) of one is a second definition of it.
    write(tmp_path, "motors/hutch.yml", """
        - name: ctrl
          axes: &axes
            - &spare
              name: m1
              velocity: 1
            - name: m2
        - name: ctrl2
          axes:
            - *spare
        - name: ctrl3
          axes: *axes
        - &tmpl {velocity: 2, acc: 3}
        - name: ctrl4
          <<: *tmpl
          axes: [{name: m4, cfg: *tmpl}]
    """)
    write(tmp_path, "motors/merge.yml", """
        - &base
          name: cbase
          axes:
            - name: mb
        - <<: *base
          name: cbase2
    """)
    errors = _errors(tmp_path)
    assert [str(e) for e in errors] == [
        "motors/hutch.yml:9: duplicate object name 'm1': the alias *spare repeats the "
        "object defined at line 4; an object is defined once (refer to it as '$m1', or "
        "copy the mapping under a new name)",
        "motors/hutch.yml:11: duplicate object names 'm1', 'm2': the alias *axes repeats "
        "the objects defined from line 4; an object is defined once (refer to them as "
        "'$name' references, or copy the mappings under new names)",
        "motors/merge.yml:5: duplicate object name 'mb': the merge key '<<' repeats the "
        "object defined at line 4; an object is defined once (refer to it as '$mb', or "
        "copy the mapping under a new name)",
    ]
    # an alias of plain data (no name) and a merge that renames its template are fine
    tree = load_tree(tmp_path, strict=False)
    assert tree["m4"].to_dict() == {"name": "m4", "cfg": {"velocity": 2, "acc": 3}}
    assert tree["cbase2"].to_dict()["name"] == "cbase2"


def test_setup_file_and_include_problems(tmp_path):
    write(tmp_path, "s.yml", """
        - name: s1
          plugin: session
          include-sessions: [s1_missing, plain]
        - name: plain
        - name: selfish
          plugin: session
          include-sessions: selfish
    """)
    errors = _errors(tmp_path)
    msgs = [str(e) for e in errors]
    assert "s.yml:3: session 's1': include-sessions names 's1_missing', but no object " \
           "has that name" in msgs
    assert any(m.startswith("s.yml:3:") and "'plain', which is not a session" in m for m in msgs)
    assert "s.yml:7: session include cycle: selfish -> selfish" in msgs


def test_stray_temp_and_hidden_files_are_ignored(tmp_path):
    write(tmp_path, "a.yml", "- name: x\n")
    write(tmp_path, ".a.yml.abc123.blisstango-tmp", "- name: x\n- name: [half")
    write(tmp_path, ".hidden/b.yml", "- name: x\n")
    write(tmp_path, ".blisstango.lock", "")
    write(tmp_path, "notes.txt", "name: x")
    tree = load_tree(tmp_path)
    assert tree.names() == ["x"] and tree.files() == ["a.yml"]


def test_missing_root():
    with pytest.raises(ConfigErrors, match="does not exist"):
        load_tree("/nonexistent/blisstango/config")
