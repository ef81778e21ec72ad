"""ConfigWriter on real files: comments and order kept, atomic, serialized writers."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers.config_trees import copy_sample, write
from helpers.procs import kill_tree

from blisstango.core.config import ConfigError, load_tree
from blisstango.core.config.atomic import TEMP_SUFFIX, temp_prefix
from blisstango.core.config.writer import ConfigWriter

CHILD = Path(__file__).parent / "helpers" / "config_writer_child.py"


@pytest.fixture
def demo(tmp_path) -> Path:
    """A writable copy of the frozen sample of the demo tree (exact comments and keys)."""
    return copy_sample(tmp_path / "demo")


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b), after
    return [(x, y) for x, y in zip(a, b) if x != y]


def test_unchanged_values_leave_files_byte_for_byte(demo):
    """Writing back current values rewrites the files identically (style detected)."""
    w = ConfigWriter(demo)
    before = {p: p.read_text() for p in demo.rglob("*.yml")}
    tree = load_tree(demo)
    for name, key in (("m0", "velocity"), ("sl_down", "high_limit"), ("slits", "class"),
                      ("diode2", "slope"), ("demo", "setup-file"), ("mockctrl", "tango")):
        w.set_key(name, key, tree[name].raw()[key])
    assert {p: p.read_text() for p in demo.rglob("*.yml")} == before


def test_set_key_keeps_comments_and_order(demo):
    path = demo / "motors" / "mockup.yml"
    before = path.read_text()
    w = ConfigWriter(demo)
    w.set_key("m0", "velocity", 2.5)
    after = path.read_text()
    assert _changed_lines(before, after) == [
        ("      velocity: 5.0       # mm/s", "      velocity: 2.5       # mm/s")]
    tree = load_tree(demo)
    assert tree["m0"]["velocity"] == 2.5
    assert tree["m0"].own_keys() == ["name", "unit", "steps_per_unit", "velocity",
                                     "acceleration", "low_limit", "high_limit", "backlash",
                                     "tolerance"]


@pytest.mark.parametrize("value", [1e300, -2.5e-20, 1e16, 3e8])
def test_numbers_written_read_back_as_the_same_numbers(demo, value):
    """The writer (YAML 1.2) writes 1e+300 with no dot, which a YAML 1.1 reader takes for
    a string: the tree must read back the number that was written (a setting saved by
    SettingsToConfig must not turn the file invalid)."""
    w = ConfigWriter(demo)
    w.set_key("m0", "backlash", value)
    assert load_tree(demo)["m0"]["backlash"] == value


def test_nested_set_delete_add_move(demo):
    w = ConfigWriter(demo)
    mock = demo / "motors" / "mockup.yml"
    w.set_key("m0", ("tango", "server"), "other")
    w.set_key("mockctrl", ("tango", "server"), "demo2")
    w.delete_key("m0", "backlash")
    with pytest.raises(ConfigError, match="m0 has no key backlash"):
        w.delete_key("m0", "backlash")
    w.add_object("motors/new.yml", {"name": "m9", "velocity": 1.0, "tango": {"server": "x"}})
    new = demo / "motors" / "new.yml"
    new.write_text(new.read_text() + "# end of new.yml\n")
    w.add_object(None, {"name": "m10", "unit": "mm"}, under="mockctrl")
    with pytest.raises(ConfigError, match="'m10' is already defined at motors/mockup.yml"):
        w.add_object("motors/new.yml", {"name": "m10"})
    w.move_object("m1", "motors/new.yml")
    text = mock.read_text()
    assert "# Simulated stepper controller" in text
    assert "server: demo2         # AxisManager instance serving these axes" in text
    # the comment written above sl_up still sits above sl_up, not moved away with m1
    assert "      server: other\n    # The two blades of the demo's vertical slit.\n" \
           "    - name: sl_up\n" in text
    tree = load_tree(demo)
    assert tree["m0"]["tango"] == {"domain": "demo", "server": "other"}
    assert "backlash" not in tree["m0"]
    assert tree["m9"].file == "motors/new.yml" and tree["m9"].plugin == "emotion"
    assert tree["m10"].parent.name == "mockctrl"
    assert [c.name for c in tree["mockctrl"].children] == ["m0", "sl_up", "sl_down", "m10"]
    assert tree["m1"].file == "motors/new.yml" and tree["m1"].parent is None
    assert tree["m1"]["high_limit"] == 180.0
    assert new.read_text().endswith("  high_limit: 180.0\n# end of new.yml\n")
    w.delete_object("m9")
    w.delete_object("m1")
    assert not (demo / "motors" / "new.yml").exists()  # no object nor top comment left
    after = load_tree(demo, strict=False)
    assert "m9" not in after and "m1" not in after
    assert {str(e) for e in after.errors} >= {
        "sessions/demo.yml:6: session 'demo': config-objects names 'm1', but no object has that name"}


def test_delete_whole_document_object_and_bad_targets(tmp_path):
    write(tmp_path, "one.yml", "name: solo\nsize: 1\n")
    write(tmp_path, "two.yml", "- name: a\n  parts:\n    - name: b\n  other: []\n")
    w = ConfigWriter(tmp_path)
    w.delete_object("solo")
    assert not (tmp_path / "one.yml").exists()
    with pytest.raises(ConfigError, match="no object named 'solo'"):
        w.set_key("solo", "size", 2)
    with pytest.raises(ConfigError, match="outside the configuration tree"):
        w.add_object("../elsewhere.yml", {"name": "z"})
    with pytest.raises(ConfigError, match="__init__.yml holds folder defaults"):
        w.add_object("__init__.yml", {"name": "z"})
    with pytest.raises(ConfigError, match="'size' is 1, not a mapping|size is 1"):
        write(tmp_path, "three.yml", "- name: c\n  size: 1\n")
        w.set_key("c", ("size", "x"), 2)
    w.add_object(None, {"name": "b2"}, under="a")  # the only list of objects: parts
    w.add_object(None, {"name": "b3"}, under="a", key="more")
    tree = load_tree(tmp_path)
    assert [c.name for c in tree["a"].children] == ["b", "b2", "b3"]
    assert tree["b3"].parent.name == "a"


def test_deleting_the_last_object_removes_the_file_or_keeps_its_top_comments(tmp_path):
    write(tmp_path, "motors/spare.yml", "- name: m8  # spare\n  velocity: 1\n# no more\n")
    write(tmp_path, "motors/hutch2.yml", """
        # Hutch 2 motors: ask the beamline scientist before changing them

        - name: m9
          # m9 is borrowed
          velocity: 2
        - name: m10
    """)
    write(tmp_path, "motors/solo.yml", "# the slit box\nname: solo\nsize: 1\n")
    tree = load_tree(tmp_path)
    w = ConfigWriter(tmp_path)
    w.delete_object("m8")  # nothing but its own comments left: the file goes
    assert sorted(p.name for p in (tmp_path / "motors").iterdir()) == ["hutch2.yml", "solo.yml"]
    w.delete_object("m9")
    w.move_object("m10", "motors/other.yml")  # the source's last object moves away
    assert (tmp_path / "motors/hutch2.yml").read_text() == (
        "# Hutch 2 motors: ask the beamline scientist before changing them\n")
    w.delete_object("solo")  # a whole-document object
    assert (tmp_path / "motors/solo.yml").read_text() == "# the slit box\n"
    new, changes = tree.reload()
    assert not new.errors and new.names() == ["m10"]
    assert changes.removed == {"m8", "m9", "solo"} and changes.added == set()
    assert sorted(new.files()) == ["motors/hutch2.yml", "motors/other.yml", "motors/solo.yml"]
    assert not [p for p in tmp_path.rglob(".*") if p.name != ".blisstango.lock"]
    w.add_object("motors/hutch2.yml", {"name": "m11"})  # the note stays on top
    assert (tmp_path / "motors/hutch2.yml").read_text() == (
        "# Hutch 2 motors: ask the beamline scientist before changing them\n- name: m11\n")
    assert load_tree(tmp_path)["m11"].file == "motors/hutch2.yml"


def test_rename_refuses_duplicates(demo):
    w = ConfigWriter(demo)
    with pytest.raises(ConfigError, match="'m1' is already defined"):
        w.set_key("m0", "name", "m1")
    w.set_key("diode2", "name", "diode_two")
    assert "diode_two" in load_tree(demo, strict=False)


def test_new_keys_go_before_the_comment_that_introduces_the_next_item(demo):
    path = demo / "motors" / "mockup.yml"
    w = ConfigWriter(demo)
    w.set_key("m1", ("tango", "attribute_properties", "Position"), {"unit": "deg"})
    w.set_key("m1", "encoder", "$enc1")  # a plain new key, after the nested one
    text = path.read_text()
    assert ("      high_limit: 180.0\n      tango:\n        attribute_properties:\n"
            "          Position:\n            unit: deg\n      encoder: $enc1\n"
            "    # The two blades of the demo's vertical slit.\n    - name: sl_up\n") in text
    w.delete_key("m1", "encoder")
    w.delete_key("m1", "tango")
    assert "      high_limit: 180.0\n    # The two blades of the demo's vertical slit.\n" \
           "    - name: sl_up\n" in path.read_text()
    w.delete_key("m1", "high_limit")  # the key the comment was attached to
    assert "      low_limit: -180.0\n    # The two blades of the demo's vertical slit.\n" \
           "    - name: sl_up\n" in path.read_text()
    w.set_key("m1", "encoder", "$enc1")
    w.add_object(None, {"name": "m7"}, under="mockctrl")
    w.add_object("counters/simulation.yml", {"name": "diode7"})
    assert path.read_text().endswith("      high_limit: 5.0\n    - name: m7\n")
    tree = load_tree(demo, strict=False)
    assert [str(e) for e in tree.errors] == [
        f"motors/mockup.yml:{tree['m1'].key_line('encoder')}: m1: reference $enc1 names no object"]


@pytest.mark.e2e
def test_threads_and_processes_do_not_lose_writes(demo):
    """4 threads here and 2 other processes add objects to the same file at once."""
    procs = [subprocess.Popen([sys.executable, str(CHILD), "add", str(demo),
                               "counters/shared.yml", f"p{k}_", "15"]) for k in range(2)]
    try:
        def add(prefix):
            w = ConfigWriter(demo)
            for i in range(15):
                w.add_object("counters/shared.yml", {"name": f"{prefix}{i}"})

        threads = [threading.Thread(target=add, args=(f"t{k}_",)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for p in procs:
            assert p.wait(120) == 0
    finally:
        for p in procs:
            kill_tree(p.pid)
    tree = load_tree(demo)
    shared = {n.name for n in tree.nodes() if n.file == "counters/shared.yml"}
    assert len(shared) == 6 * 15


def _kill_at_random(cmd, moments, check, output: bool = False):
    """Run cmd; kill -9 it at each random moment; call check() after every kill
    (check(stdout) with what the child printed before it died, when output is true)."""
    for delay in moments:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE if output else subprocess.DEVNULL, text=True)
        try:
            time.sleep(delay)
            proc.kill()
            out = proc.communicate(timeout=10)[0]
        finally:
            kill_tree(proc.pid)
        check(out) if output else check()


@pytest.mark.e2e
def test_raw_atomic_writes_killed_leave_old_or_new(tmp_path):
    """A 4 MB file rewritten in a loop and kill -9'd: always exactly version a or b."""
    root = tmp_path / "tree"
    root.mkdir()
    body = "".join(f"  line {i:06d} {'x' * 60}\n" for i in range(60000))
    texts = []
    for version in ("a", "b"):
        texts.append(f"- name: big\n  version: {version}\n  data: |\n"
                     + body.replace("  line", "    line") + "- name: tail\n")
        (tmp_path / f"{version}.txt").write_text(texts[-1])
    (root / "big.yml").write_text(texts[0])
    temps_seen = []

    def check():
        text = (root / "big.yml").read_text()
        assert text in texts, "a half-written file survived the kill"
        temps_seen.append(len([p for p in root.iterdir() if p.name.startswith(".big.yml.")]))
        tree = load_tree(root)
        assert tree.names() == ["big", "tail"] and tree.files() == ["big.yml"]

    rng = random.Random()
    _kill_at_random([sys.executable, str(CHILD), "raw", str(root / "big.yml"),
                     str(tmp_path / "a.txt"), str(tmp_path / "b.txt")],
                    [1.0 + rng.random() * 0.5 for _ in range(8)], check)
    # the kills did interrupt writes in progress (their temp files were left behind)
    assert any(temps_seen)


@pytest.mark.e2e
def test_config_writer_killed_mid_write(demo):
    """ConfigWriter.set_key in a loop on a 600-object commented file, killed 5 times."""
    lines = ["# many counters, each with a comment"]
    for i in range(600):
        lines += [f"- name: c{i}   # counter {i}", "  class: SimulationCounter",
                  f"  center: {i}.5", "  unit: counts"]
    write(demo, "counters/many.yml", "\n".join(lines) + "\n")
    path = demo / "counters" / "many.yml"
    before = [0.5]  # c0's value on disk before the current child ran

    def check(out: str):
        """No acknowledged write lost: on disk is the last value the child reported written,
        or the one it was writing when killed; before its first report, the previous value
        or its first write (a child counts on from the integer on disk, else from 1)."""
        tree = load_tree(demo)  # parses, no duplicate, no temp file read
        assert all(f.endswith(".yml") and "/." not in f for f in tree.files())
        value = tree["c0"].get("center")
        assert tree["c599"]["center"] == 599.5
        acked = [int(n) for n in out.split("\n")[:-1]]  # complete lines only
        first = before[0] + 1 if isinstance(before[0], int) else 1
        allowed = {acked[-1], acked[-1] + 1} if acked else {before[0], first}
        assert value in allowed, f"c0 = {value!r} on disk, child acknowledged {acked[-3:]}"
        before[0] = value
        assert path.read_text().startswith("# many counters, each with a comment\n")

    rng = random.Random()
    _kill_at_random([sys.executable, str(CHILD), "set", str(demo), "c0", "center"],
                    [1.5 + rng.random() * 2.0 for _ in range(5)], check, output=True)
    # a writer after the crashes cleans the stale temp files of the file it writes
    ConfigWriter(demo).set_key("c1", "center", -1)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".many.yml.")]
    assert load_tree(demo)["c1"]["center"] == -1
    assert "- name: c1   # counter 1" in path.read_text()


def test_lock_is_reentrant_and_edit_file_keeps_comments(demo):
    w = ConfigWriter(demo)
    with w.locked():  # a sequence of calls under one lock: no self-deadlock
        w.set_key("m0", "velocity", 1.5)
        w.set_key("m1", "velocity", 2.5)
    tree = load_tree(demo)
    assert (tree["m0"]["velocity"], tree["m1"]["velocity"]) == (1.5, 2.5)

    def add_device(doc):
        doc = doc or {}
        doc.setdefault("TangoTest", {})["test"] = {"devices": [{"tango_name": "sys/tg/1"}]}
        return doc

    w.edit_file("tango/servers.yml", add_device)
    text = (demo / "tango" / "servers.yml").read_text()
    assert text == "TangoTest:\n  test:\n    devices:\n      - tango_name: sys/tg/1\n"
    (demo / "tango" / "servers.yml").write_text("# plain servers\n" + text.replace(
        "sys/tg/1\n", "sys/tg/1   # the C++ one\n"))

    def rename(doc):
        doc["TangoTest"]["test"]["devices"][0]["tango_name"] = "sys/tg/2"
        return doc

    w.edit_file("tango/servers.yml", rename)
    assert (demo / "tango" / "servers.yml").read_text() == (
        "# plain servers\nTangoTest:\n  test:\n    devices:\n"
        "      - tango_name: sys/tg/2   # the C++ one\n")
    with pytest.raises(ConfigError, match="does not exist"):
        w.edit_file("tango/none.yml", rename, create=False)
    assert "sys/tg/2" in str(load_tree(demo).file_data("tango/servers.yml"))


@pytest.mark.e2e
def test_other_process_waits_for_the_lock(demo):
    """While this process holds the tree lock, another process's write waits for it."""
    w = ConfigWriter(demo)
    with w.locked():
        proc = subprocess.Popen([sys.executable, str(CHILD), "add", str(demo),
                                 "counters/other.yml", "o", "1"])
        try:
            with pytest.raises(subprocess.TimeoutExpired):
                proc.wait(3)  # blocked on flock, not finished
            assert not (demo / "counters" / "other.yml").exists()
        except BaseException:
            kill_tree(proc.pid)
            raise
    try:
        assert proc.wait(60) == 0
    finally:
        kill_tree(proc.pid)
    assert load_tree(demo)["o0"].file == "counters/other.yml"


def test_greenlets_wait_for_each_other_without_blocking_the_hub(demo):
    """A greenlet holding the lock yields; another greenlet's write waits, others run."""
    import gevent

    w = ConfigWriter(demo)
    order = []

    def holder():
        with w.locked():
            order.append("holder in")
            gevent.sleep(0.5)
            w.set_key("m0", "velocity", 1.0)
            order.append("holder out")

    def other():
        gevent.sleep(0.05)
        order.append("other tries")
        w.set_key("m0", "velocity", 2.0)
        order.append("other done")

    def ticker():
        for _ in range(5):
            gevent.sleep(0.05)
            order.append("tick")

    gevent.joinall([gevent.spawn(holder), gevent.spawn(other), gevent.spawn(ticker)],
                   timeout=60, raise_error=True)
    assert order.index("other done") > order.index("holder out") > order.index("other tries")
    assert order.count("tick") == 5 and order.index("tick") < order.index("holder out")
    assert load_tree(demo)["m0"]["velocity"] == 2.0


def test_edit_file_emptied_file_keeps_its_top_comments_or_goes(demo):
    """edit_file is the one atomic edit of non-object files (BeaconDB's YAML sync uses it):
    a file emptied by an edit keeps only the comment block a person wrote at its top, or is
    removed; what is added later goes below that block; a stale temp file is removed."""
    w = ConfigWriter(demo)
    path = demo / "tango" / "notes.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text("# servers of the hutch\n# (kept by hand)\n\nTangoTest:\n  test: {}\n")
    stale = path.parent / f"{temp_prefix(path)}12345{TEMP_SUFFIX}"  # a writer killed mid-write
    stale.write_text("half")
    w.edit_file("tango/notes.yml", lambda doc: None)
    assert path.read_text() == "# servers of the hutch\n# (kept by hand)\n"
    assert not stale.exists()

    def add(doc):
        assert doc is None  # only comments: no document
        return {"Extra": {"one": {"devices": []}}}

    w.edit_file("tango/notes.yml", add)
    assert path.read_text().startswith("# servers of the hutch\n# (kept by hand)\nExtra:\n")
    other = demo / "tango" / "bare.yml"
    other.write_text("TangoTest:\n  test: {}\n")
    w.edit_file("tango/bare.yml", lambda doc: {})
    assert not other.exists()
