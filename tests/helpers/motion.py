"""Motion test helpers: the session's real settings Redis, Mockup controllers from dicts,
and a way to forget the demo axes' settings between tests."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

_ids = itertools.count()


@pytest.fixture
def settings_redis(redis_servers):
    """The settings Redis (a real redis-server of conftest's redis_servers): `.url`."""
    return SimpleNamespace(url=redis_servers.settings_url)


def forget_settings(url: str, names) -> None:
    """Delete persisted settings (axis and Mockup hardware) of these objects."""
    import redis

    r = redis.Redis.from_url(url)
    keys = [f"settings:{n}" for n in names] + list(r.scan_iter(match="settings:*.*"))
    keys = [k for k in keys if not isinstance(k, bytes) or k.decode().split(".")[-1] in names]
    if keys:
        r.delete(*keys)


def unique(prefix: str = "m") -> str:
    """A fresh object name, so settings of one test never leak into another."""
    return f"{prefix}{next(_ids)}_{id(_ids) % 1000}"


def mockup(*axes: dict, name: str | None = None, **kwargs):
    """A Mockup controller with the given axis configs (names made unique if absent)."""
    from blisstango.core.motion.mockup import Mockup

    cfgs = []
    for a in axes:
        a = dict(a)
        a.setdefault("name", unique())
        a.setdefault("velocity", 5.0)
        a.setdefault("acceleration", 50.0)
        cfgs.append(a)
    return Mockup(name or unique("ctrl"), {}, axes=cfgs, **kwargs)


def one_axis(**cfg):
    ctrl = mockup(cfg)
    return next(iter(ctrl.axes.values()))
