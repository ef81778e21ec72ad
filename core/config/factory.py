"""Building configuration objects through their plugins, each object built once."""

from __future__ import annotations

from typing import Any

from .errors import ConfigError
from .plugins import get_plugin


class ObjectFactory:
    """``factory.get(name)`` builds an object with its plugin and caches it.

    Plugins call ``factory.get`` for the objects they reference (an axis' controller,
    a counter's axis); a build that needs itself again is reported as a cycle.
    """

    #: in a server process (core.config.root.process_objects): name -> the object as
    #: another process sees it (its server's client through the session resolver), for
    #: an object this server does not own; None: everything is built here (one process)
    remote = None

    def __init__(self, tree):
        self.tree = tree
        self._built: dict[str, Any] = {}
        self._building: list[str] = []

    def get(self, name: str) -> Any:
        if name in self._built:
            return self._built[name]
        node = self.tree[name]
        if name in self._building:
            chain = " -> ".join(self._building[self._building.index(name):] + [name])
            raise ConfigError(f"circular build of {name!r}: {chain}", node.file, node.line)
        self._building.append(name)
        try:
            if name in self._built:  # a plugin may build its children while building
                return self._built[name]
            obj = get_plugin(node.plugin)(node, self)
            self._built.setdefault(name, obj)
            return self._built[name]
        finally:
            self._building.pop()

    def add(self, name: str, obj: Any) -> None:
        """Record an object built by another plugin (a controller building its axes)."""
        self._built[name] = obj

    def built(self) -> dict[str, Any]:
        return dict(self._built)
