"""Shared fixtures. Every process is made gevent-cooperative first, as servers are
(except pytest-xdist's controller, which only hands test files to its workers)."""

import os
import sys

from blisstango.core import green


def _xdist_controller() -> bool:
    """This process runs pytest-xdist's workers (`-n N`) and no test: execnet's pipes to
    them fail when the standard library is patched for gevent (its subprocess waits end
    in gevent's LoopExit). The workers themselves patch, as a serial run does."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return False
    args = sys.argv[1:] + os.environ.get("PYTEST_ADDOPTS", "").split()
    return any(a in ("-n", "--numprocesses") or a.startswith(("--numprocesses=", "-n")) and a != "-n0"
               for a in args)


if not _xdist_controller():
    green.patch()

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
DEMO_CONFIG = REPO / "examples" / "demo_beamline"

# Debian's /etc/tangorc sets a TANGO_HOST that Tango tools use silently: never let a
# test reach a database it did not start.
os.environ["TANGO_HOST"] = "127.0.0.1:1"
# omniORB's scan period (5 s by default) bounds how long an ORB may wait when it shuts
# down; the servers and clients the tests start inherit 1 s, as PyTango's test context uses
os.environ["ORBscanGranularity"] = "1"  # noqa: SIM112 - omniORB's own spelling


@pytest.fixture
def demo_config() -> Path:
    """Path of the demo beamline configuration tree."""
    return DEMO_CONFIG


@pytest.fixture(scope="session")
def redis_servers(tmp_path_factory):
    """Real settings + data redis-servers for the session, configured into
    blisstango.core.beacon.connection, and exported as BLISSTANGO_SETTINGS_REDIS /
    BLISSTANGO_DATA_REDIS to the tests that use them, so their children find them too
    (see _redis_servers_env). Yields the RedisSupervisor
    (sup.settings_url, sup.data_url, sup.pids()); everything is stopped at the end."""
    from blisstango.core.beacon import connection
    from blisstango.core.beacon.redis_server import RedisSupervisor

    sup = RedisSupervisor(tmp_path_factory.mktemp("redis_run")).start()
    connection.configure(sup.settings_url, sup.data_url)
    try:
        yield sup
    finally:
        connection.reset()
        sup.stop()


@pytest.fixture(autouse=True)
def _redis_servers_env(request, monkeypatch):
    """Export the shared Redis URLs only while a test that asks for redis_servers runs.

    Exported for the whole session, they would reach the children of every later test
    (a `blisstango up` stack's servers would publish into the wrong Redis)."""
    if "redis_servers" in request.fixturenames:
        from blisstango.core.beacon import connection

        sup = request.getfixturevalue("redis_servers")
        monkeypatch.setenv(connection.ENV_VARS["settings"], sup.settings_url)
        monkeypatch.setenv(connection.ENV_VARS["data"], sup.data_url)
    yield


# ---- BeaconDB / Tango database fixtures (issue 3) --------------------------------------
@pytest.fixture
def beacondb(tmp_path):
    """A running BeaconDB (no Redis, no YAML tree) on a free port; stopped by pid after."""
    from helpers.tango_db import BeaconDBProcess

    db = BeaconDBProcess(tmp_path / "beacondb").start()
    yield db
    db.stop()


@pytest.fixture
def sqlite_db(tmp_path):
    """PyTango's own sqlite DataBaseds, the reference peer, on a free port."""
    from helpers.tango_db import SqliteDBProcess

    db = SqliteDBProcess(tmp_path / "sqlitedb").start()
    yield db
    db.stop()


# ---- scanning / scan data fixtures (issue 5) -------------------------------------------
@pytest.fixture
def data_redis(redis_servers):
    """A client of the session's real data redis-server (redis_servers)."""
    import redis

    client = redis.Redis.from_url(redis_servers.data_url)
    yield client
    client.close()


@pytest.fixture
def own_data_redis(tmp_path):
    """A data redis-server of its own, for tests that delete or expire every scan."""
    import redis

    from blisstango.core.beacon.redis_server import RedisServer

    server = RedisServer("data", tmp_path, kind="data")
    server.start()
    client = redis.Redis.from_url(server.url)
    yield client
    client.close()
    server.stop()


@pytest.fixture
def scan_context(data_redis, request):
    """The current ScanContext of the test: a session of its own, publishing to data_redis."""
    import re

    from blisstango.core.scanning import ScanContext, set_context

    session = re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)[:60]
    ctx = ScanContext(session=session, data_redis=data_redis)
    previous = set_context(ctx)
    yield ctx
    set_context(previous)


# ---- the scientist's shell (issue 7) -----------------------------------------------------
@pytest.fixture(scope="session")
def shell_stack(tmp_path_factory):
    """A demo stack (`blisstango up` of a copy of examples/demo_beamline), shared by the
    shell tests; `blisstango down` at the end."""
    from helpers.demo_stack import DemoStack

    stack = DemoStack(tmp_path_factory.mktemp("shell_stack"), DEMO_CONFIG).up()
    yield stack
    stack.down()


@pytest.fixture
def shell(shell_stack, tmp_path):
    """A real `blisstango shell -s demo` in a pseudo-terminal, its state dir in tmp_path."""
    from helpers.shell import Shell

    sh = Shell(shell_stack, tmp_path / "state")
    yield sh
    sh.close()


# ---- unit / e2e ---------------------------------------------------------------------
#: fixtures that start processes (redis-server, BeaconDB, a stack): a test using any of
#: them, even through another fixture, is an end-to-end test
PROCESS_FIXTURES = {"redis_servers", "beacondb", "sqlite_db", "own_data_redis", "shell_stack"}


def pytest_configure(config):
    config.addinivalue_line("markers", "unit: runs in the test process alone, starts no process "
                                       "(given to every test that is not e2e)")
    config.addinivalue_line("markers", "e2e: starts processes (servers, Redis, a stack): "
                                       "mark a test or module that starts them itself")


def pytest_collection_modifyitems(config, items):
    """Every test is `e2e` (marked, or using a process fixture) or else `unit`:
    `pytest -m unit` (make test-unit) runs the tests that need no server."""
    for item in items:
        if item.get_closest_marker("e2e") is None and PROCESS_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("e2e") is None:
            item.add_marker(pytest.mark.unit)


def _refusing_processes(item):
    """While a unit test and the fixtures it sets up run, starting a process fails at
    once naming the marker the test needs: the unit run stays fast and server-free as
    tests are added. (Teardown is left alone: a session fixture's servers are stopped
    in the teardown of whichever test comes last.)"""
    import contextlib
    import subprocess

    if item.get_closest_marker("e2e") is not None:
        return contextlib.nullcontext()

    def refuse(*args, **kwargs):
        raise RuntimeError(f"{item.nodeid} starts a process: mark it `@pytest.mark.e2e` "
                           "(or its module: pytestmark = pytest.mark.e2e)")

    stack = contextlib.ExitStack()
    for owner, name in ((subprocess.Popen, "_execute_child"), (os, "fork"), (os, "posix_spawn"),
                        (os, "posix_spawnp")):
        saved = getattr(owner, name)
        setattr(owner, name, refuse)
        stack.callback(setattr, owner, name, saved)
    return stack


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    with _refusing_processes(item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    with _refusing_processes(item):
        yield


@pytest.fixture
def scan_dev(stack):
    """The demo ScanServer of the module's `stack` fixture, idle (no scan left running)."""
    dev = stack.device("demo/scan/demo", timeout_ms=120000)
    dev.WaitScan(60)
    return dev


@pytest.fixture
def follower(scan_dev):
    """A RecordFollower on scan_dev: every scan's records, closed after the test."""
    from blisstango.clients.scan_events import RecordFollower

    f = RecordFollower(scan_dev)
    yield f
    f.close()
