"""The web editor's HTTP API (Flask's test client over a real tree, real git): what may
be named, what is refused and why, history, revert, and where the history lives."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers.config_trees import copy_demo, line_of

from blisstango.core.config import load_tree
from blisstango.core.tangodb.config_service import ConfigService
from blisstango.core.webconfig import (
    WebConfigError,
    WebOptions,
    WebPortError,
    create_app,
    start_web_editor,
)
from blisstango.core.webconfig.app import MAX_BODY
from blisstango.core.webconfig.history import ConfigHistory

MOCKUP = "motors/mockup.yml"


def snapshot(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(root).parts}


@pytest.fixture
def editor(tmp_path):
    root = copy_demo(tmp_path / "config")
    service = ConfigService(root)
    service.load()
    options = WebOptions()
    app = create_app(service, ConfigHistory(root).open(), options)
    client = app.test_client()
    client.root, client.service = root, service
    client.headers = {"X-CSRF-Token": options.csrf, "X-User": "alice"}
    return client


def post(client, url, body, **kw):
    return client.post(url, json=body, headers=kw.pop("headers", client.headers), **kw)


def test_paths_outside_the_tree_are_refused_and_change_nothing(editor, tmp_path):
    root = editor.root
    (tmp_path / "secret.yml").write_text("- name: secret\n")
    (root / "motors" / "out.yml").symlink_to(tmp_path / "secret.yml")
    (root / "outdir").symlink_to(tmp_path)
    before = snapshot(root)
    for path in ["../secret.yml", "motors/../../secret.yml", "/etc/passwd", str(tmp_path / "secret.yml"),
                 "motors/out.yml", "outdir/secret.yml", "motors/\x00.yml", ".git/config"]:
        assert editor.get("/api/file", query_string={"path": path}).status_code in (400, 404), path
        r = post(editor, "/api/file", {"path": path, "text": "- name: x\n", "base": None})
        assert r.status_code == 400, path
        assert "error" in r.get_json()
    # percent-encoded dots in the raw query string are decoded, then refused all the same
    assert editor.get("/api/file?path=%2e%2e/secret.yml").status_code == 400
    assert editor.get("/api/file?path=%2e%2e%2fsecret.yml").status_code == 400
    r = post(editor, "/api/move", {"src": "motors", "dst": "../moved"})
    assert r.status_code == 400
    assert snapshot(root) == before and (tmp_path / "secret.yml").read_text() == "- name: secret\n"


def test_writes_need_the_csrf_token_a_small_body_and_a_writable_editor(editor, tmp_path):
    root = editor.root
    before = snapshot(root)
    text = (root / MOCKUP).read_text()
    body = {"path": MOCKUP, "text": text.replace("5.0", "6.0"), "base": text}
    r = editor.post("/api/file", json=body)  # no token
    assert r.status_code == 403 and "CSRF" in r.get_json()["error"]
    r = post(editor, "/api/file", body, headers={"X-CSRF-Token": "guess"})
    assert r.status_code == 403
    big = {"path": MOCKUP, "text": "#" * (MAX_BODY + 10), "base": text}
    assert post(editor, "/api/file", big).status_code == 413
    assert editor.get("/api/file", query_string={"path": MOCKUP}).status_code == 200
    assert snapshot(root) == before

    service = editor.service
    options = WebOptions(read_only=True)
    ro = create_app(service, ConfigHistory(root).open(), options).test_client()
    r = ro.post("/api/file", json=body, headers={"X-CSRF-Token": options.csrf})
    assert r.status_code == 403 and "read-only" in r.get_json()["error"]
    assert snapshot(root) == before


@pytest.mark.e2e
def test_a_token_guards_every_request_and_a_remote_bind_needs_one(editor, tmp_path):
    options = WebOptions(token="s3cret")
    app = create_app(editor.service, ConfigHistory(editor.root).open(), options)
    client = app.test_client()
    assert client.get("/api/tree").status_code == 401
    assert client.get("/api/tree", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    r = client.get("/?token=s3cret")
    assert r.status_code == 302 and "blisstango_token=s3cret" in r.headers["Set-Cookie"]
    with pytest.raises(WebConfigError, match="needs an access token"):
        start_web_editor(editor.service, "0.0.0.0", 0)
    # a port already taken is said so (BeaconDB then serves the database without editor)
    server, url = start_web_editor(editor.service, "127.0.0.1", 0)
    try:
        with pytest.raises(WebPortError, match=f"127.0.0.1:{server.server_port}"):
            start_web_editor(editor.service, "127.0.0.1", server.server_port)
    finally:
        server.stop()
    # BeaconDB itself refuses to start so
    res = subprocess.run([sys.executable, "-m", "blisstango.servers.BeaconDB.main", "2", "--port", "1",
                          "--config", str(editor.root), "--run-dir", str(tmp_path / "run"),
                          "--no-redis", "--web-port", "0", "--web-host", "0.0.0.0"],
                         capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "TANGO_HOST": "127.0.0.1:1"})
    assert res.returncode == 2 and "needs an access token" in res.stderr


def test_duplicate_name_is_refused_naming_both_places(editor):
    r = post(editor, "/api/file", {"path": "motors/extra.yml", "text": "- name: spare\n- name: m0\n",
                                   "base": None})
    assert r.status_code == 422
    [err] = r.get_json()["errors"]
    place = f"{MOCKUP}:{line_of(editor.root / MOCKUP, 'name: m0')}"
    # the loader meets motors/extra.yml first: the error is at mockup.yml, naming both
    assert err["text"] == f"{place}: duplicate object name 'm0': already defined at motors/extra.yml:2"
    assert not (editor.root / "motors" / "extra.yml").exists()


def test_conflict_is_refused_with_a_diff(editor):
    path = editor.root / MOCKUP
    opened = editor.get("/api/file", query_string={"path": MOCKUP}).get_json()["text"]
    path.write_text(opened.replace("tolerance: 0.001", "tolerance: 0.002"))  # vim, meanwhile
    r = post(editor, "/api/file", {"path": MOCKUP, "text": opened.replace("5.0", "6.0"), "base": opened})
    assert r.status_code == 409
    data = r.get_json()
    assert "-      tolerance: 0.001" in data["diff"] and "+      tolerance: 0.002" in data["diff"]
    assert "tolerance: 0.002" in path.read_text() and "velocity: 5.0" in path.read_text()


def test_history_revert_and_outside_changes(editor):
    root = editor.root
    path = root / MOCKUP
    original = path.read_bytes()
    text = original.decode()
    r = post(editor, "/api/object/keys", {"name": "m0", "values": {"velocity": "7.5"}})
    assert r.status_code == 200, r.get_json()
    commit = r.get_json()["commit"]
    assert commit["author"] == "alice" and "m0" in commit["message"]
    assert load_tree(root)["m0"]["velocity"] == 7.5
    # a person with vim: the editor records it as a commit of its own when it next looks
    path.write_text(path.read_text().replace("tolerance: 0.001", "tolerance: 0.002"))
    commits = editor.get("/api/history", query_string={"path": MOCKUP}).get_json()["commits"]
    assert [c["author"] for c in commits[:2]] == ["outside the editor", "alice"]
    first = commits[-1]["id"]
    diff = editor.get("/api/diff", query_string={"path": MOCKUP, "old": first,
                                                 "new": commits[1]["id"]}).get_json()["diff"]
    assert "-      velocity: 5.0       # mm/s" in diff and "+      velocity: 7.5       # mm/s" in diff
    # per object: m0's history and diff; m1 never changed after the first commit
    m0 = editor.get("/api/history", query_string={"object": "m0"}).get_json()["commits"]
    m1 = editor.get("/api/history", query_string={"object": "m1"}).get_json()["commits"]
    assert len(m0) == 3 and len(m1) == 1
    odiff = editor.get("/api/diff", query_string={"object": "m0", "old": first,
                                                  "new": m0[0]["id"]}).get_json()["diff"]
    assert "-velocity: 5.0" in odiff and "+velocity: 7.5" in odiff and "+tolerance: 0.002" in odiff
    # revert: a validated save and a commit, byte for byte the first version
    r = post(editor, "/api/revert", {"path": MOCKUP, "commit": first, "base": path.read_text()})
    assert r.status_code == 200, r.get_json()
    assert path.read_bytes() == original and text
    assert editor.service.tree["m0"]["velocity"] == 5.0  # Beacon reloaded
    commits = editor.get("/api/history", query_string={"path": MOCKUP}).get_json()["commits"]
    assert commits[0]["message"].startswith("revert motors/mockup.yml")


def test_create_rename_move_delete_with_the_same_checks(editor):
    root = editor.root
    assert post(editor, "/api/folder", {"path": "detectors"}).status_code == 200
    r = post(editor, "/api/file", {"path": "detectors/cams.yml", "text": "- name: camx\n  plugin: default\n",
                                   "base": None})
    assert r.status_code == 200, r.get_json()
    assert post(editor, "/api/move", {"src": "detectors/cams.yml", "dst": "motors/cams.yml"}).status_code == 200
    assert editor.service.tree["camx"].file == "motors/cams.yml"
    # moving the counters away leaves the session's $references dangling? no: names stay
    assert post(editor, "/api/move", {"src": "counters", "dst": "detectors/counters"}).status_code == 200
    assert editor.service.tree["diode"].file == "detectors/counters/simulation.yml"
    # deleting the file that holds m0 would leave references to it unresolved: refused
    text = (root / MOCKUP).read_text()
    r = post(editor, "/api/file/delete", {"path": MOCKUP, "base": text})
    assert r.status_code == 422 and any("$m0" in e["message"] or "m0" in e["message"]
                                        for e in r.get_json()["errors"])
    assert (root / MOCKUP).read_text() == text
    r = post(editor, "/api/file/delete", {"path": "motors/cams.yml",
                                          "base": (root / "motors/cams.yml").read_text()})
    assert r.status_code == 200 and not (root / "motors/cams.yml").exists()
    assert post(editor, "/api/folder/delete", {"path": "detectors"}).status_code == 422


@pytest.mark.e2e
def test_a_tree_inside_another_repository_keeps_its_history_apart(tmp_path):
    outer = tmp_path / "checkout"
    root = copy_demo(outer / "examples" / "demo")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git + ["init", "-q", str(outer)], check=True)
    subprocess.run(git + ["-C", str(outer), "add", "-A"], check=True)
    subprocess.run(git + ["-C", str(outer), "commit", "-qm", "checkout"], check=True)
    with pytest.raises(Exception, match="inside the git repository"):
        ConfigHistory(root).open()
    history = ConfigHistory(root, tmp_path / "run" / "config-history.git").open()
    assert history.mode == "separate" and not (root / ".git").exists()
    (root / MOCKUP).write_text((root / MOCKUP).read_text().replace("5.0", "6.0"))
    assert history.snapshot() is not None
    assert [c.author for c in history.log()] == ["outside the editor", "outside the editor"]
    outer_log = subprocess.run(["git", "-C", str(outer), "log", "--oneline"], capture_output=True,
                               text=True, check=True).stdout.splitlines()
    assert len(outer_log) == 1  # the checkout's own repository is never written


def test_forms_for_a_counter_and_a_session(editor):
    r = post(editor, "/api/object/keys", {"name": "diode", "values": {"center": "2.75"}})
    assert r.status_code == 200, r.get_json()
    assert editor.service.tree["diode"]["center"] == 2.75
    form = editor.get("/api/object", query_string={"name": "demo"}).get_json()["form"]
    [field] = form["fields"]
    assert field["key"] == "config-objects" and "m0" in field["choices"]
    objects = [n for n in field["value"] if n != "diode2"]
    r = post(editor, "/api/object/keys", {"name": "demo", "values": {"config-objects": objects}})
    assert r.status_code == 200, r.get_json()
    assert "diode2" not in editor.service.tree.get_session("demo").object_names
    r = post(editor, "/api/object/keys", {"name": "demo",
                                          "values": {"config-objects": objects + ["nosuch"]}})
    assert r.status_code == 422  # a name that is no object
    assert "diode2" not in (editor.root / "sessions" / "demo.yml").read_text()
    r = post(editor, "/api/object/keys", {"name": "diode", "values": {"center": "middle"}})
    assert r.status_code == 422
    assert "diode: center must be a number, not 'middle'" in r.get_json()["errors"][0]["message"]


def test_an_object_is_restored_without_touching_its_neighbours(editor):
    first = editor.get("/api/history", query_string={"path": MOCKUP}).get_json()["commits"][-1]["id"]
    for values in ({"velocity": "7.5", "backlash": ""}, ):  # backlash deleted
        assert post(editor, "/api/object/keys", {"name": "m0", "values": values}).status_code == 200
    assert post(editor, "/api/object/keys", {"name": "m1", "values": {"velocity": "11"}}).status_code == 200
    assert "backlash" not in editor.service.tree["m0"]
    r = post(editor, "/api/object/revert", {"name": "m0", "commit": first})
    assert r.status_code == 200, r.get_json()
    m0, m1 = editor.service.tree["m0"], editor.service.tree["m1"]
    assert (m0["velocity"], m0["backlash"], m1["velocity"]) == (5.0, 0.0, 11)
    assert "velocity: 5.0       # mm/s" in (editor.root / MOCKUP).read_text()  # comment kept
    r = post(editor, "/api/object/revert", {"name": "m0", "commit": "0" * 40})
    assert r.status_code == 400


def test_object_list_searches_by_name_class_and_plugin(editor):
    data = editor.get("/api/objects", query_string={"q": "M", "plugin": "emotion"}).get_json()
    assert {"m0", "m1"} <= {o["name"] for o in data["objects"]}
    assert all(o["plugin"] == "emotion" and "m" in o["name"] for o in data["objects"])
    data = editor.get("/api/objects", query_string={"class": "simulationcounter"}).get_json()
    assert {o["name"] for o in data["objects"]} == {"diode", "diode2"}
    data = editor.get("/api/objects", query_string={"limit": "2"}).get_json()
    assert len(data["objects"]) == 2 and data["total"] == len(editor.service.tree)
