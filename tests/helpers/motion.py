"""Motion test helpers: a real settings Redis per module and Mockup controllers from dicts."""

from __future__ import annotations

import itertools

import pytest
from blisstango.core.beacon import connection

from helpers.redis_proc import RedisProcess

_ids = itertools.count()


@pytest.fixture(scope="module")
def settings_redis(tmp_path_factory):
    """A real redis-server used as the settings Redis of this process."""
    proc = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    connection.configure(settings_url=proc.url)
    yield proc
    connection.reset()
    proc.stop()


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
