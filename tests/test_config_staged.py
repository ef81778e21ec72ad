"""Validating an edit before it is written: the loader's overlay, value types, and
ConfigWriter.staged with the whole-file operations of the web editor."""

from __future__ import annotations

import pytest
from helpers.config_trees import copy_sample

from blisstango.core.config import ConfigError, ConfigErrors, load_tree
from blisstango.core.config.writer import ConfigConflict, ConfigWriter


@pytest.fixture
def demo(tmp_path):
    return copy_sample(tmp_path / "demo")


def test_overlay_validates_the_tree_an_edit_would_leave_without_touching_disk(demo):
    before = {p: p.read_bytes() for p in demo.rglob("*.yml")}
    tree = load_tree(demo, strict=False, overlay={"new/deep/x.yml": "- name: m0\n"})
    [err] = tree.errors
    assert (err.file, err.line) == ("new/deep/x.yml", 1)
    assert "duplicate object name 'm0'" in str(err) and "motors/mockup.yml:" in str(err)
    # a new folder without files of its own still inherits the root defaults
    tree = load_tree(demo, overlay={"new/deep/x.yml": "- name: newobj\n"})
    assert tree["newobj"].get("tango") == load_tree(demo).defaults("").get("tango")
    # removing a file its references need
    tree = load_tree(demo, strict=False, overlay={"motors/mockup.yml": None})
    assert any("names no object" in str(e) for e in tree.errors)
    assert {p: p.read_bytes() for p in demo.rglob("*.yml")} == before


def test_a_wrongly_typed_value_is_an_error_at_its_line(demo):
    text = (demo / "motors" / "mockup.yml").read_text()
    bad = text.replace("velocity: 5.0", "velocity: fast", 1)
    line = bad.splitlines().index(next(ln for ln in bad.splitlines() if "fast" in ln)) + 1
    with pytest.raises(ConfigErrors) as info:
        load_tree(demo, overlay={"motors/mockup.yml": bad})
    assert str(info.value) == f"motors/mockup.yml:{line}: m0: velocity must be a number, not 'fast'"


def test_staged_writes_are_checked_before_any_is_written(demo):
    w = ConfigWriter(demo)
    path = demo / "motors" / "mockup.yml"
    text = path.read_text()
    seen = {}

    def refuse(changes):
        seen.update(changes)
        raise ConfigError("no")

    with pytest.raises(ConfigError):
        w.staged(lambda: w.set_key("m0", "velocity", 7.5), refuse)
    assert path.read_text() == text
    assert list(seen) == ["motors/mockup.yml"] and "velocity: 7.5" in seen["motors/mockup.yml"]
    changes = w.staged(lambda: w.set_key("m0", "velocity", 7.5), lambda c: None)
    assert path.read_text() == changes["motors/mockup.yml"]
    assert load_tree(demo)["m0"]["velocity"] == 7.5


def test_whole_file_write_refuses_a_conflict(demo):
    w = ConfigWriter(demo)
    path = demo / "motors" / "mockup.yml"
    base = path.read_text()
    path.write_text(base + "# changed by a person with vim\n")
    with pytest.raises(ConfigConflict) as info:
        w.write_file("motors/mockup.yml", base.replace("5.0", "6.0"), base=base)
    assert info.value.current.endswith("# changed by a person with vim\n")
    assert path.read_text().endswith("# changed by a person with vim\n")
    with pytest.raises(ConfigConflict):  # creating over an existing file
        w.write_file("motors/mockup.yml", "", base=None)


def test_rename_and_remove_are_staged_like_writes(demo):
    w = ConfigWriter(demo)
    changes = w.staged(lambda: w.rename("motors", "axes"), lambda c: None)
    assert changes["motors/mockup.yml"] is None and changes["axes/mockup.yml"] is not None
    assert (demo / "axes" / "__init__.yml").is_file() and not (demo / "motors").exists()
    assert load_tree(demo)["m0"].file == "axes/mockup.yml"
    w.staged(lambda: w.remove_file("counters/simulation.yml"), lambda c: None)
    assert not (demo / "counters" / "simulation.yml").exists()
    with pytest.raises(ConfigError, match="outside the configuration tree"):
        w.rename("axes", "../elsewhere")
    with pytest.raises(ConfigError, match="into itself"):
        w.rename("axes", "axes/sub")
