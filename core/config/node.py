"""One named object of the tree, read-only, with where each of its keys is written."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .loader import deep_merge, is_ref
from .yamlread import plain

if TYPE_CHECKING:
    from .loader import Defaults, Record
    from .tree import ConfigTree

_MISSING = object()


class ConfigNode:
    """An object of the tree: its own keys over the inherited __init__.yml defaults."""

    __slots__ = ("tree", "name", "file", "line", "_data", "_defaults", "_parent", "_children",
                 "_plugin")

    def __init__(self, tree: ConfigTree, rec: Record, defaults: Defaults):
        self.tree = tree
        self.name = rec.name
        self.file = rec.file
        self.line = rec.data.line
        self._data = rec.data
        self._defaults = defaults
        self._parent = rec.parent
        self._children = rec.children
        self._plugin: tuple[str, str | None, int | None] | None = None

    def __repr__(self) -> str:
        return f"<ConfigNode {self.name} plugin={self.plugin} at {self.file}:{self.line}>"

    # -- structure ---------------------------------------------------------------
    @property
    def parent(self) -> ConfigNode | None:
        """The enclosing object (a controller owning this axis), or None."""
        return self.tree.get(self._parent) if self._parent else None

    @property
    def children(self) -> list[ConfigNode]:
        """Objects written inside this one, in file order."""
        return [c for c in (self.tree.get(n) for n in self._children) if c is not None]

    @property
    def plugin(self) -> str:
        """Own `plugin`, else the enclosing object's, else the folder default, else 'default'."""
        return self.plugin_source()[0]

    def plugin_source(self) -> tuple[str, str | None, int | None]:
        """(plugin, file, line) of where the plugin of this object is decided."""
        if self._plugin is None:
            self._plugin = self._find_plugin()
        return self._plugin

    def _find_plugin(self) -> tuple[str, str | None, int | None]:
        own = self._data.get("plugin")
        if own is not None:
            return str(own), self.file, self._data.key_lines.get("plugin")
        parent = self.parent
        if parent is not None:
            return parent.plugin_source()
        value = self._defaults.values.get("plugin")
        if value is not None:
            file, line = self._defaults.sources["plugin"]
            return str(value), file, line
        return "default", None, None

    # -- values ------------------------------------------------------------------
    def own_keys(self) -> list[str]:
        """Keys written in the object itself, in file order (not inherited ones)."""
        return list(self._data)

    def keys(self) -> list[str]:
        """Own keys then inherited ones."""
        return list(self._data) + [k for k in self._defaults.values if k not in self._data]

    def __contains__(self, key: object) -> bool:
        return key in self._data or key in self._defaults.values

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(f"{self.name} ({self.file}:{self.line}) has no key {key!r}")
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """Plain value of key: own, merged over an inherited mapping, or inherited."""
        own = self._data.get(key, _MISSING)
        inherited = self._defaults.values.get(key, _MISSING)
        if own is _MISSING:
            return default if inherited is _MISSING else plain(inherited)
        if isinstance(own, dict) and isinstance(inherited, dict):
            return deep_merge(plain(inherited), plain(own))
        return plain(own)

    def to_dict(self) -> dict[str, Any]:
        """Inherited defaults + own keys as plain data; child objects as written."""
        return deep_merge(plain(self._defaults.values), plain(self._data))

    def raw(self) -> dict[str, Any]:
        """Own keys only, as plain data."""
        return plain(self._data)

    def key_line(self, key: str) -> int:
        """1-based line where key is written (in __init__.yml for an inherited key)."""
        return self.key_location(key)[1]

    def key_location(self, key: str) -> tuple[str, int]:
        """(file, line) where key is written, own or inherited."""
        if key in self._data:
            return self.file, self._data.key_lines.get(key, self.line)
        if key in self._defaults.sources:
            return self._defaults.sources[key]
        raise KeyError(f"{self.name} ({self.file}:{self.line}) has no key {key!r}")

    def deref(self, key: str, default: Any = _MISSING) -> Any:
        """Value of key with every `$name` replaced by the referenced ConfigNode."""
        if default is _MISSING:
            value = self[key]
        else:
            value = self.get(key, _MISSING)
            if value is _MISSING:
                return default
        return self._deref(value)

    def _deref(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self._deref(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._deref(v) for v in value]
        if is_ref(value):
            return self.tree[value[1:]]
        return value
