"""What the object view shows: the object's configuration as Beacon resolves it, the
Tango device it becomes, that device's live state, its Redis settings, its history."""

from __future__ import annotations

import difflib
import logging
from typing import Any

import yaml

from blisstango.core.config.loader import is_ref
from blisstango.core.config.schema import key_kinds
from blisstango.core.config.yamlread import plain, read_yaml

log = logging.getLogger(__name__)

#: axis keys an axis form shows, in order
AXIS_FIELDS = ("unit", "velocity", "acceleration", "low_limit", "high_limit", "steps_per_unit")
COUNTER_FIELDS = {
    "SimulationCounter": ("unit", "center", "fwhm", "height", "background", "noise"),
    "TangoAttrCounter": ("device", "attribute", "unit"),
}


def object_row(node) -> dict:
    cls = node.get("class")
    return {"name": node.name, "plugin": node.plugin, "class": "" if cls is None else str(cls),
            "file": node.file, "line": node.line}


def form_of(node, tree) -> dict | None:
    """The form for the object's kind: fields with value, kind and unit; None if none."""
    if node.plugin == "emotion" and "axes" not in node and node.parent is not None:
        from blisstango.core.motion.config_schema import UNITS

        unit = str(node.get("unit") or "")
        kinds = key_kinds("emotion")
        return {"kind": "axis", "fields": [
            {"key": k, "value": node.get(k), "type": kinds.get(k, "text"),
             "unit": UNITS.get(k, "").format(unit=unit) if unit else ""} for k in AXIS_FIELDS]}
    if node.plugin == "counters":
        keys = COUNTER_FIELDS.get(str(node.get("class")))
        if keys:
            kinds = key_kinds("counters")
            return {"kind": "counter", "fields": [
                {"key": k, "value": node.get(k), "type": kinds.get(k, "text"), "unit": ""}
                for k in keys]}
    if node.plugin == "session":
        return {"kind": "session", "fields": [
            {"key": "config-objects", "value": node.get("config-objects") or [], "type": "names",
             "choices": [n for n in tree.names() if n != node.name]}]}
    return None


def parse_field(kind: str, text: Any) -> Any:
    """A form's text as the YAML value it stands for; a number that does not parse is
    kept as text, so the tree's validation reports it at its line."""
    if not isinstance(text, str):
        return text
    text = text.strip()
    if text == "":
        return None
    if kind in ("number", "number_or_none", "integer", "sign"):
        try:
            value = float(text)
        except ValueError:
            return text
        return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() \
            else value
    return text


def _resolved(node, value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _resolved(node, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(node, v) for v in value]
    if is_ref(value):
        target = node.tree.get(value[1:])
        return {"$ref": value[1:], "file": target.file if target else None,
                "line": target.line if target else None}
    return value


def object_detail(service, name: str, settings: dict | str | None) -> dict:
    tree = service.tree
    node = tree[name]
    config = node.to_dict()
    keys = []
    for key in node.keys():
        file, line = node.key_location(key)
        keys.append({"key": key, "value": _resolved(node, config[key]), "file": file, "line": line,
                     "inherited": key not in node.own_keys(),
                     "setting": settings.get(key) if isinstance(settings, dict) else None,
                     "has_setting": isinstance(settings, dict) and key in settings})
    device = None
    view = service.view
    if view is not None:
        for d in view.devices.values():
            if d.object == name:
                device = {"name": d.name, "class": d.klass, "server": d.server, "alias": d.alias,
                          "properties": d.properties}
                break
    extra = {}
    if isinstance(settings, dict):
        extra = {k: v for k, v in settings.items() if k not in config}
    return {**object_row(node), "keys": keys, "device": device,
            "settings": settings if isinstance(settings, dict) else None,
            "settings_error": settings if isinstance(settings, str) else None,
            "settings_only": extra,
            "parent": node.parent.name if node.parent else None,
            "children": [c.name for c in node.children],
            "form": form_of(node, tree)}


def read_settings(name: str) -> dict | str:
    """The object's stored settings (settings:<name>), or why they cannot be read."""
    try:
        from blisstango.core.beacon import connection
        from blisstango.core.beacon.settings import object_settings

        if not connection.configured_urls()[0]:
            return "no settings Redis (BeaconDB runs without Redis)"
        return dict(object_settings(name).stored())
    except Exception as exc:  # noqa: BLE001 - shown to the person, never a traceback
        return f"cannot read settings:{name}: {exc}"


def settings_for_yaml(node, stored: dict) -> dict:
    """The stored settings of an axis as its SettingsToConfig writes them (one rule:
    core.motion.axis_settings.settings_as_written, lengths at the axis' resolution)."""
    from blisstango.core.motion import axis_settings as rule

    values = {key: stored[key] for key in rule.SETTING_KEYS if key in stored}
    return rule.settings_as_written(values, node, rule.config_resolution(node))


# -- the live Tango side --------------------------------------------------------------------
_proxies: dict[str, Any] = {}


def live_state(device: str) -> dict:
    """Exported or not (the database's word) and, if exported, State and Status."""
    import tango

    out: dict[str, Any] = {"device": device, "exported": False, "state": None, "status": None,
                           "error": None}
    try:
        info = tango.Database().get_device_info(device)
        out["exported"] = bool(info.exported)
        out["host"], out["pid"] = info.host, info.pid
        if info.exported:
            proxy = _proxies.get(device)
            if proxy is None:
                proxy = _proxies[device] = tango.DeviceProxy(device)
                proxy.set_timeout_millis(1500)
            out["state"] = str(proxy.state())
            out["status"] = proxy.status()
    except tango.DevFailed as exc:
        out["error"] = exc.args[0].desc.strip() if exc.args else str(exc)
    return out


# -- per-object history ---------------------------------------------------------------------
def object_in(text: str | None, file: str, name: str) -> Any:
    """The plain mapping of object name in a file's text (None if absent)."""
    if text is None:
        return None
    data, _ = read_yaml(text, file)

    def find(d):
        if isinstance(d, dict):
            if str(d.get("name")) == name:
                return d
            d = list(d.values())
        if isinstance(d, list):
            for v in d:
                found = find(v)
                if found is not None:
                    return found
        return None

    found = find(data)
    return None if found is None else plain(found)


def object_yaml(data: Any) -> str:
    return "" if data is None else yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def object_history(history, file: str, name: str, limit: int = 100) -> list[dict]:
    """Commits of the object's file in which the object itself changed."""
    out = []
    commits = history.log(file, limit=limit)
    previous = None
    for commit in reversed(commits):
        data = object_in(history.show(commit.id, commit.path), commit.path, name)
        if data != previous:
            out.append(commit.to_json())
        previous = data
    return list(reversed(out))


def object_diff(history, file: str, name: str, old: str, new: str | None) -> str:
    paths = {c.id: c.path for c in history.log(file, limit=1000)}

    def at(commit):
        if commit is None:
            try:
                text = (history.root / file).read_text()
            except FileNotFoundError:
                text = None
            return object_yaml(object_in(text, file, name))
        path = paths.get(commit) or file
        return object_yaml(object_in(history.show(commit, path), path, name))

    return "".join(difflib.unified_diff(at(old).splitlines(keepends=True),
                                        at(new).splitlines(keepends=True),
                                        f"{name} @ {old[:10]}", f"{name} @ {(new or 'now')[:10]}"))
