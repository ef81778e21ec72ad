"""The web configuration editor as a Flask application (served by BeaconDB, see server.py).

Routes: ``/`` the page; ``/api/...`` JSON. Reads are GETs; every write is a POST that
carries the page's CSRF token (header ``X-CSRF-Token``) and is refused in read-only
mode. With an access token (required for a non-loopback bind) every request shows it
once (``?token=``, kept in a cookie) or as ``Authorization: Bearer``. Errors are JSON
``{"error": sentence, ...}`` with a 4xx status, never a traceback.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
from flask import Flask, jsonify, make_response, redirect, render_template, request
from werkzeug.exceptions import HTTPException

from blisstango.core.config import ConfigError
from blisstango.core.config.writer import ConfigConflict

from . import objects
from .edits import ConfigEditor, EditRefused, conflict_diff, tree_errors
from .history import ConfigHistory, HistoryError, os_user
from .paths import PathRefused, safe_rel

log = logging.getLogger(__name__)

MAX_BODY = 2 * 1024 * 1024  # a configuration file is far smaller; a bigger body is refused
TOKEN_COOKIE = "blisstango_token"


@dataclass
class WebOptions:
    read_only: bool = False
    token: str | None = None        # access token (remote access)
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    title: str = "blisstango configuration"


def _error(status: int, message: str, **extra: Any):
    return make_response(jsonify({"error": message, **extra}), status)


def _errors_json(errors) -> list[dict]:
    return [{"file": e.file, "line": e.line, "message": e.message, "text": str(e)} for e in errors]


def create_app(service, history: ConfigHistory, options: WebOptions | None = None,
               live=objects.live_state) -> Flask:
    """The editor over ConfigService `service` (its tree is what Beacon serves)."""
    options = options or WebOptions()
    root: Path = service.root
    editor = ConfigEditor(root, history, service)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.sort_keys = False

    # -- guards ---------------------------------------------------------------------------
    @app.before_request
    def guard():
        if options.token:
            given = request.args.get("token") or request.cookies.get(TOKEN_COOKIE) or ""
            auth = request.headers.get("Authorization", "")
            if auth.startswith("Bearer "):
                given = auth[7:]
            if not hmac.compare_digest(given.encode(), options.token.encode()):
                return _error(401, "this editor needs its access token: open the URL that "
                                   "BeaconDB printed (…?token=…)")
            if request.args.get("token") and request.method == "GET" and request.path == "/":
                resp = redirect("/")
                resp.set_cookie(TOKEN_COOKIE, options.token, httponly=True, samesite="Strict")
                return resp
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            if request.content_length is not None and request.content_length > MAX_BODY:
                return _error(413, f"request body of {request.content_length} bytes refused: "
                                   f"at most {MAX_BODY} bytes")
            if options.read_only:
                return _error(403, "this editor is read-only (BeaconDB --web-read-only)")
            sent = request.headers.get("X-CSRF-Token", "")
            if not hmac.compare_digest(sent.encode(), options.csrf.encode()):
                return _error(403, "missing or wrong CSRF token: reload the page")
        return None

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(PathRefused)
    def path_refused(exc):
        return _error(400, str(exc))

    @app.errorhandler(FileNotFoundError)
    def not_found(exc):
        return _error(404, f"{exc.args[0] if exc.args else 'file'} does not exist")

    @app.errorhandler(EditRefused)
    def refused(exc: EditRefused):
        return _error(422, "not saved: the configuration would have errors", errors=_errors_json(exc.errors))

    @app.errorhandler(ConfigConflict)
    def conflict(exc: ConfigConflict):
        return _error(409, f"{exc.file}: {exc.message}", diff=conflict_diff(exc), current=exc.current)

    @app.errorhandler(ConfigError)
    def config_error(exc: ConfigError):
        return _error(400, str(exc))

    @app.errorhandler(HistoryError)
    def history_error(exc):
        return _error(400, str(exc))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("web editor: %s %s failed", request.method, request.path)
        return _error(500, f"internal error ({type(exc).__name__}: {exc}); see BeaconDB's log")

    # -- helpers --------------------------------------------------------------------------
    def body() -> dict:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise PathRefused("the request body must be a JSON object")
        return data

    def who() -> str:
        name = (request.headers.get("X-User") or "").strip()
        return name[:80] if name else os_user()

    def rel(value: Any, **kw) -> str:
        return safe_rel(root, value if isinstance(value, str) else "", **kw)

    def node_or_404(name: str):
        node = service.tree.get(name) if service.tree is not None else None
        if node is None:
            raise FileNotFoundError(f"object {name!r}")
        return node

    # -- the page ---------------------------------------------------------------------------
    @app.get("/")
    def index():
        return render_template("index.html", csrf=options.csrf, read_only=options.read_only,
                               title=options.title, root=str(root), user=os_user())

    # -- reading ------------------------------------------------------------------------------
    @app.get("/api/tree")
    def tree_listing():
        entries = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
            rel = os.path.relpath(folder, root)
            prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            if prefix:
                entries.append({"path": prefix[:-1], "type": "folder"})
            entries.extend({"path": prefix + f, "type": "file"} for f in sorted(files)
                           if f.endswith(".yml") and not f.startswith("."))
        return jsonify({"root": str(root), "entries": entries, "errors": service.errors})

    @app.get("/api/objects")
    def object_list():
        q = (request.args.get("q") or "").lower()
        plugin = request.args.get("plugin") or ""
        klass = (request.args.get("class") or "").lower()
        try:
            limit = max(1, int(request.args.get("limit", 500)))
        except ValueError:
            raise PathRefused("limit must be a number") from None
        rows, plugins, classes = [], set(), set()
        for node in service.tree.nodes():
            row = objects.object_row(node)
            plugins.add(row["plugin"])
            if row["class"]:
                classes.add(row["class"])
            if (not q or q in row["name"].lower()) and (not plugin or row["plugin"] == plugin) \
                    and (not klass or klass in row["class"].lower()):
                rows.append(row)
        # a page shows what a person can read: the first `limit` rows and how many match
        return jsonify({"objects": rows[:limit], "total": len(rows), "plugins": sorted(plugins),
                        "classes": sorted(classes)})

    @app.get("/api/file")
    def get_file():
        path = rel(request.args.get("path"), yml=True, must_exist=True)
        text = (root / path).read_text(encoding="utf-8")
        names = [n.name for n in service.tree.nodes() if n.file == path]
        return jsonify({"path": path, "text": text, "objects": names,
                        "errors": [e for e in _errors_json(tree_errors(root)) if e["file"] == path]})

    @app.get("/api/history")
    def get_history():
        name = request.args.get("object")
        if name:
            node = node_or_404(name)
            return jsonify({"object": name, "file": node.file,
                            "commits": objects.object_history(history, node.file, name)})
        path = request.args.get("path")
        with editor.writer.locked():
            history.snapshot()  # changes made with vim since show up as a commit
        if path:
            path = rel(path)
        return jsonify({"path": path, "commits": [c.to_json() for c in history.log(path)]})

    @app.get("/api/diff")
    def get_diff():
        old, new = request.args.get("old", ""), request.args.get("new") or None
        name = request.args.get("object")
        if name:
            node = node_or_404(name)
            return jsonify({"diff": objects.object_diff(history, node.file, name, old, new)})
        path = request.args.get("path")
        return jsonify({"diff": history.diff(old, new, rel(path) if path else None)})

    @app.get("/api/version")
    def get_version():
        path = rel(request.args.get("path"), yml=True)
        text = history.show(request.args.get("commit", ""), path)
        if text is None:
            raise FileNotFoundError(f"{path} in that commit")
        return jsonify({"path": path, "text": text})

    @app.get("/api/object")
    def get_object():
        node = node_or_404(request.args.get("name", ""))
        return jsonify(objects.object_detail(service, node.name, objects.read_settings(node.name)))

    @app.get("/api/object/live")
    def get_live():
        node = node_or_404(request.args.get("name", ""))
        view = service.view
        device = next((d.name for d in view.devices.values() if d.object == node.name), None) \
            if view is not None else None
        if device is None:
            return jsonify({"device": None})
        # a blocking Tango call must not stall the server's other greenlets
        return jsonify(gevent.get_hub().threadpool.apply(live, (device,)))

    # -- writing ------------------------------------------------------------------------------
    @app.post("/api/validate")
    def validate():
        data = body()
        path = rel(data.get("path"), yml=True)
        errors = tree_errors(root, {path: str(data.get("text", ""))})
        return jsonify({"errors": _errors_json(errors)})

    @app.post("/api/file")
    def save_file():
        data = body()
        path = rel(data.get("path"), yml=True)
        text = data.get("text")
        if not isinstance(text, str):
            raise PathRefused("'text' must be the file's text")
        if "\x00" in text:
            raise PathRefused("a configuration file cannot contain a NUL byte")
        base = data.get("base")
        result = editor.save_file(path, text, base, who(), str(data.get("message") or ""))
        return jsonify(result.to_json())

    @app.post("/api/file/delete")
    def delete_file():
        data = body()
        path = rel(data.get("path"), yml=True, must_exist=True)
        return jsonify(editor.delete_file(path, data.get("base"), who()).to_json())

    @app.post("/api/move")
    def move():
        data = body()
        src = rel(data.get("src"), must_exist=True)
        dst = rel(data.get("dst"), yml=(root / src).is_file())
        return jsonify(editor.rename(src, dst, who()).to_json())

    @app.post("/api/folder")
    def make_folder():
        path = rel(body().get("path"))
        editor.make_folder(path)
        return jsonify({"folder": path})

    @app.post("/api/folder/delete")
    def delete_folder():
        path = rel(body().get("path"), must_exist=True)
        if not (root / path).is_dir():
            raise PathRefused(f"{path} is not a folder")
        return jsonify(editor.delete_folder(path, who()).to_json())

    @app.post("/api/revert")
    def revert():
        data = body()
        path = rel(data.get("path"), yml=True)
        return jsonify(editor.revert_file(path, str(data.get("commit", "")), data.get("base"),
                                          who()).to_json())

    @app.post("/api/object/revert")
    def revert_object():
        data = body()
        node = node_or_404(str(data.get("name", "")))
        commit = str(data.get("commit", ""))
        path = next((c.path for c in history.log(node.file, limit=1000) if c.id == commit), None)
        if path is None:
            raise HistoryError(f"commit {commit[:10]} is not in the history of {node.file}")
        then = objects.object_in(history.show(commit, path), path, node.name)
        return jsonify(editor.revert_object(node.name, then, commit, who()).to_json())

    @app.post("/api/object/keys")
    def set_keys():
        data = body()
        node = node_or_404(str(data.get("name", "")))
        values = data.get("values")
        if not isinstance(values, dict) or not values:
            raise PathRefused("'values' must map keys to their new values")
        kinds = {**objects.key_kinds(node.plugin), "config-objects": "list"}
        parsed = {str(k): objects.parse_field(kinds.get(k, "text"), v) for k, v in values.items()}
        return jsonify(editor.set_keys(node.name, parsed, who()).to_json())

    @app.post("/api/object/settings-to-yaml")
    def settings_to_yaml():
        node = node_or_404(str(body().get("name", "")))
        stored = objects.read_settings(node.name)
        if isinstance(stored, str):
            raise ConfigError(stored)
        values = objects.settings_for_yaml(node, stored)
        if not values:
            raise ConfigError(f"{node.name} has no settings in Redis to write")
        return jsonify(editor.set_keys(node.name, values, who(),
                                       f"{node.name}: settings written to YAML").to_json())

    return app
