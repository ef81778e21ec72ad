"""Axes of an AxisManager used from another process (a ScanServer, a session).

The AxisManager owns the axes, their settings and their hardware; another process must
not rebuild them from YAML (two simulations, two owners of `settings:<axis>`). It drives
them through Tango with TangoAxis proxies whose own settings are neutral and kept in
memory (sign 1, offset 0, no limits: the AxisManager applies the real ones). Several
axes of one server start with one GroupMove; with `owner`, a lock holder names itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .axis import Axis
from .tango_axis import TangoAxis


class LocalSettings:
    """In-memory settings with the HashSetting interface, for proxies that own nothing."""

    def __init__(self, name: str, defaults: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.defaults = dict(defaults or {})
        self._stored: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        return self._stored.get(key, self.defaults.get(key))

    def __setitem__(self, key: str, value: Any) -> None:
        if value is None:
            self._stored.pop(key, None)
        else:
            self._stored[key] = value

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._stored or key in self.defaults else default

    def get_all(self) -> dict[str, Any]:
        return {**self.defaults, **self._stored}

    def stored(self) -> dict[str, Any]:
        return dict(self._stored)

    def clear(self) -> None:
        self._stored.clear()


def remote_axes(*names: str, owner: str | None = None, tango_host: str | None = None) -> dict[str, Axis]:
    """{name: Axis} driving the AxisManager devices whose aliases are `names`.

    tango_host: reach that database explicitly (a process keeps the first TANGO_HOST it used).
    """
    if tango_host:
        import tango

        host, port = tango_host.rsplit(":", 1)
        db = tango.Database(host, int(port))
        devices = {n: f"tango://{tango_host}/{db.get_device_from_alias(n)}" for n in names}
    else:
        devices = {n: n for n in names}
    ctrl = TangoAxis(f"remote({', '.join(names)})", {"lock_owner": owner},
                     axes=[{"name": n, "tango_name": devices[n]} for n in names],
                     settings_factory=LocalSettings)
    return dict(ctrl.axes)
