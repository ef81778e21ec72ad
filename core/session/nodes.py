"""A configuration object as Beacon's GetObjectConfig returns it, shaped like a
ConfigNode for config plugins (name, plugin, file, line, to_dict, get, [], keys)."""

from __future__ import annotations

import json
from collections.abc import KeysView
from typing import Any


class RemoteNode:
    """The JSON of GetObjectConfig (`__file__`, `__line__` give file and line)."""

    def __init__(self, name: str, data: dict) -> None:
        data = dict(data)
        self.name = name
        self.file = data.pop("__file__", None)
        self.line = data.pop("__line__", None)
        self.plugin = data.get("plugin", "default")
        self._data = data
        self.parent = None

    def __repr__(self) -> str:
        return f"<RemoteNode {self.name} plugin={self.plugin} at {self.file}:{self.line}>"

    def to_dict(self) -> dict:
        return json.loads(json.dumps(self._data))

    def raw(self) -> dict:
        return self.to_dict()

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def keys(self) -> KeysView[str]:
        return self._data.keys()

    def key_line(self, _key: str) -> int | None:
        return self.line
