"""``BeaconDB <instance>``: the Tango database (core.tangodb.DB_DEVICE) and the Beacon device
(core.beacon.BEACON_DEVICE) in one process, on the port of TANGO_HOST or --port."""

from __future__ import annotations

from blisstango.core import green

green.patch()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import tango  # noqa: E402
from tango.server import run  # noqa: E402

from blisstango.core.beacon import BEACON_DEVICE  # noqa: E402
from blisstango.core.tangodb import DB_DEVICE  # noqa: E402
from blisstango.core.tangodb.access import ACCESS_DEVICE  # noqa: E402
from blisstango.core.tangodb.journal import Journal  # noqa: E402
from blisstango.core.tangodb.store import TangoStore  # noqa: E402

from . import access_device, beacon_device, db_device, ending, tango_run  # noqa: E402
from .starter import StarterNotifier  # noqa: E402

log = logging.getLogger("BeaconDB")

SERVER_EXEC = "DataBaseds"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="BeaconDB", description=__doc__)
    p.add_argument("instance", help="Tango server instance name (usually 2)")
    p.add_argument("--port", type=int, default=None, help="TCP port (default: from TANGO_HOST, else 10000)")
    p.add_argument("--host", default=None, help="address to listen on and advertise (default: TANGO_HOST's host, else "
                   "127.0.0.1); the embedded Redis servers listen there too, with an ACL password "
                   "beyond loopback")
    p.add_argument("--config", required=False, default=None, help="root folder of the YAML configuration tree")
    p.add_argument("--run-dir", default=None, help="folder for the journal and the embedded Redis "
                   "(default: $XDG_RUNTIME_DIR or /tmp, /blisstango-<port>)")
    p.add_argument("--redis-settings", default=None, help="URL of the settings Redis (else embedded)")
    p.add_argument("--redis-data", default=None, help="URL of the data Redis (else embedded)")
    p.add_argument("--no-redis", action="store_true", help="serve no Redis URLs (database only)")
    p.add_argument("--no-server-cache", action="store_true",
                   help="answer DbGetDataForServerCache with API_CommandNotImplemented: device "
                   "servers then read each item with its own call (for comparisons)")
    p.add_argument("--web-port", type=int, default=None,
                   help="serve the web configuration editor on this port (0: any free port; "
                   "default: no editor)")
    p.add_argument("--web-host", default="127.0.0.1",
                   help="address the editor listens on (default 127.0.0.1; any other needs --web-token)")
    p.add_argument("--web-read-only", action="store_true", help="the editor shows, never writes")
    p.add_argument("--web-token", default=os.environ.get("BLISSTANGO_WEB_TOKEN") or None,
                   help="access token the editor asks for (default: $BLISSTANGO_WEB_TOKEN)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def _tango_host() -> tuple[str | None, int | None]:
    value = os.environ.get("TANGO_HOST", "")
    if ":" in value:
        host, port = value.split(",")[0].rsplit(":", 1)
        try:
            return host, int(port)
        except ValueError:
            pass
    return None, None


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    logging.basicConfig(level=logging.INFO if opts.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    th_host, th_port = _tango_host()
    port = opts.port if opts.port is not None else (th_port or 10000)
    host = opts.host or th_host or "127.0.0.1"
    run_dir = Path(opts.run_dir or Path(os.environ.get("XDG_RUNTIME_DIR", "/tmp")) / f"blisstango-{port}")
    run_dir.mkdir(parents=True, exist_ok=True)

    server = f"{SERVER_EXEC}/{opts.instance}"
    store = TangoStore()
    service = yaml_sync = None
    if opts.config:
        from blisstango.core.config import ConfigError, ConfigErrors
        from blisstango.core.tangodb.config_service import ConfigService
        from blisstango.core.tangodb.yaml_sync import YamlSync

        service = ConfigService(opts.config)
        try:
            service.load()  # an invalid tree at start is fatal: nothing good to serve
        except (ConfigError, ConfigErrors) as exc:
            print(f"BeaconDB: invalid configuration {opts.config}:\n{exc}", file=sys.stderr)
            return 2
        yaml_sync = YamlSync(store, service, internal_servers={server})
        yaml_sync.install()
    journal = Journal(run_dir, f"beacondb-{opts.instance}")
    replayed = journal.attach(store)
    if yaml_sync is not None:
        yaml_sync.reconcile()  # what the journal replayed but YAML may miss (kill -9)
    log.info("state loaded from %s (%d journal records replayed)", run_dir, replayed)
    StarterNotifier(store, server_name=f"{SERVER_EXEC}/{opts.instance}").install()
    db_device.STORE[:] = [store]
    access_device.STORE[:] = [store]

    web = None
    if opts.web_port is not None:
        if service is None:
            print("BeaconDB: --web-port needs --config (the tree to edit)", file=sys.stderr)
            return 2
        from blisstango.core.webconfig import WebConfigError, WebPortError, start_web_editor

        (run_dir / "web-url").unlink(missing_ok=True)
        try:
            web, url = start_web_editor(service, opts.web_host, opts.web_port,
                                        git_dir=run_dir / "config-history.git",
                                        read_only=opts.web_read_only, token=opts.web_token)
        except WebPortError as exc:  # the Tango database matters more: serve it all the same
            print(f"BeaconDB: {exc}; serving the Tango database without the editor",
                  file=sys.stderr, flush=True)
        except WebConfigError as exc:
            print(f"BeaconDB: {exc}", file=sys.stderr)
            return 2
        else:
            (run_dir / "web-url").write_text(url + "\n")
            print(f"BeaconDB configuration editor at {url}", file=sys.stderr, flush=True)

    public_host = host if host not in ("0.0.0.0", "") else socket.gethostname()
    store.served_at = [f"{public_host}:{port}"]
    store.server_cache_enabled = not opts.no_server_cache
    # Tango clients inside this process (Starter notices, Beacon) use this very database.
    os.environ["TANGO_HOST"] = f"{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"

    redis = None
    if opts.no_redis:
        settings_url, data_url = "", ""
    elif opts.redis_settings and opts.redis_data:
        settings_url, data_url = opts.redis_settings, opts.redis_data
    else:
        from blisstango.core.beacon.redis_server import RedisSupervisor

        redis = RedisSupervisor(run_dir / "redis", host=host, settings_url=opts.redis_settings,
                                data_url=opts.redis_data).start()
        settings_url, data_url = redis.settings_url, redis.data_url
    if settings_url:
        from blisstango.core.beacon import connection

        connection.configure(settings_url=settings_url, data_url=data_url)
    beacon_device.CONTEXT.update(config=service, settings_url=settings_url, data_url=data_url)

    classes = [db_device.DataBase, beacon_device.Beacon, access_device.TangoAccessControl]
    tango_run.fixed_devices(db_device.DataBase, [(DB_DEVICE, "database")])
    tango_run.fixed_devices(beacon_device.Beacon, [(BEACON_DEVICE, BEACON_DEVICE)])
    tango_run.fixed_devices(access_device.TangoAccessControl, [(ACCESS_DEVICE, ACCESS_DEVICE)])
    store.mutate("add_device", server, DB_DEVICE, "DataBase", None)
    store.mutate("add_device", server, BEACON_DEVICE, "Beacon", None)
    store.mutate("add_device", server, ACCESS_DEVICE, "TangoAccessControl", None)

    # YAML round trips run in a writer thread: let DB commands take the GIL from it quickly.
    sys.setswitchinterval(0.001)
    tango.Util.set_use_db(False)
    util = tango.Util([SERVER_EXEC, opts.instance, "-ORBendPoint", f"giop:tcp:{host}:{port}"])
    util.set_serial_model(tango.SerialModel.NO_SYNC)

    def post_init():
        u = tango.Util.instance()
        dserver = u.get_dserver_device()
        pid, version = u.get_pid_str(), u.get_version_str()
        hostname = u.get_host_name()
        for dev in [dserver, *(u.get_device_by_name(d) for d in (DB_DEVICE, BEACON_DEVICE, ACCESS_DEVICE))]:
            store.mutate("export_device", dev.get_name().lower(), u.get_device_ior(dev),
                         hostname, int(pid), version)
        print(f"BeaconDB ready on {host}:{port} (run dir {run_dir})", file=sys.stderr, flush=True)

    try:
        # The C++ loop owns the main thread: give its gevent hub (the web editor's server,
        # the configuration's greenlets) a turn on every loop iteration.
        run(classes, args=[SERVER_EXEC, opts.instance], util=util, post_init_callback=post_init,
            event_loop=lambda: gevent.sleep(0.05), raises=True)
        print(ending.last_words(server), file=sys.stderr, flush=True)
    finally:
        if web is not None:
            web.stop(timeout=1)
        if yaml_sync is not None:
            yaml_sync.flush()
        journal.close()
        if redis is not None:
            redis.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
