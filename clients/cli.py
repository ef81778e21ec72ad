"""The `blisstango` command: bring a beamline up or down, show it, check its configuration."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blisstango", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start Redis, BeaconDB and every server the configuration implies")
    up.add_argument("config_dir", type=Path, nargs="?",
                    help="root folder of the YAML configuration tree (not needed with --tango-host)")
    up.add_argument("--run-dir", help="folder for logs, pids and runtime state "
                                      "(default: ~/.local/state/blisstango/<config>-<hash>)")
    up.add_argument("--address", help="address every process listens on and advertises (default "
                    "127.0.0.1; with --tango-host: this host's address towards the database); beyond "
                    "loopback the Redis servers require the ACL password Beacon hands out")
    up.add_argument("--host", dest="host_name", metavar="NAME",
                    help="start only the servers the YAML's `hosts` block places on host NAME (and, "
                    "beside the database, those placed nowhere)")
    up.add_argument("--tango-host", metavar="HOST:PORT", help="use the database (BeaconDB) of another "
                    "host: start no Redis nor BeaconDB here, only the servers it places on --host")
    up.add_argument("--port", type=int, help="TANGO_HOST port (default: from $TANGO_HOST, else 10000)")
    up.add_argument("--redis-settings", help="use this settings Redis URL instead of starting one")
    up.add_argument("--redis-data", help="use this scan-data Redis URL instead of starting one")
    up.add_argument("--web-port", type=int, help="port of Beacon's web configuration editor (default: "
                    "the TANGO_HOST port + 80, or a free one if that is taken; 0: a free one)")
    up.add_argument("--no-web", action="store_true", help="serve no web configuration editor")
    mode = up.add_mutually_exclusive_group()
    mode.add_argument("--detach", action="store_true", help="run in the background and return once up")
    mode.add_argument("--foreground", action="store_true", help=argparse.SUPPRESS)

    for name, text in (("down", "stop a stack started by `up`, leaving no process behind"),
                       ("status", "show each process of a stack, its pid and its state")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("config_dir", nargs="?", help="configuration folder (default: the last `up`)")
        cmd.add_argument("--run-dir")
        if name == "status":
            cmd.add_argument("--json", action="store_true", help="machine-readable output")
            cmd.add_argument("--tango-host", metavar="HOST:PORT",
                             help="show only the hosts' servers as this database knows them")

    demo = sub.add_parser("demo", help="run the demo beamline end to end, then stop it")
    demo.add_argument("--port", type=int, help="TANGO_HOST port (default: a free one)")
    demo.add_argument("--run-dir", help="folder for the demo's logs and state")

    shell = sub.add_parser("shell", help="the scientist's shell (itango) on a session of the beamline")
    shell.add_argument("-s", "--session", required=True, help="session name (from Beacon, via TANGO_HOST)")
    shell.add_argument("ipython_args", nargs=argparse.REMAINDER, help="passed on to IPython")

    config = sub.add_parser("config", help="load a configuration tree and list its objects and sessions")
    config.add_argument("config_dir", type=Path)

    sim = sub.add_parser("simulate", help="serve an instrument's simulator (its makers', through "
                                          "sinstruments) for a controller with a `simulator:` block")
    sim.add_argument("config_dir", type=Path)
    sim.add_argument("name", help="the controller to simulate")
    sim.add_argument("--url", help="where to serve it: host:port, or a pseudo-terminal path for a "
                                   "serial line (default: the block's url)")
    sim.add_argument("--announce", action="store_true",
                     help="store the address in the controller's Beacon settings (simulator_url), "
                          "where its link looks for it (`blisstango up` runs it so)")
    gui = sub.add_parser("gui", help="the Taurus GUI of a session: synoptic, motors, scans, detectors, loops, valves")
    gui.add_argument("-s", "--session", help="session name (from Beacon, via TANGO_HOST)")
    gui.add_argument("--synoptic", help="a JDraw (.jdw) drawing to show instead of the session's own")
    gui.add_argument("--poll-period", type=float, metavar="S",
                     help="seconds between reads of attributes whose device pushes no events (default 3)")
    gui.add_argument("--conf-path", action="store_true",
                     help="print the path of the configuration `taurus gui` accepts, and exit")
    plot = sub.add_parser("plot", help="the live plot of a session's scans, in a window of its own")
    plot.add_argument("-s", "--session", required=True, help="session name (from Beacon, via TANGO_HOST)")
    syn = sub.add_parser("synoptic", help="draw a first synoptic (.jdw) of a session, to edit in JDraw")
    syn.add_argument("-s", "--session", required=True, help="session name (from Beacon, via TANGO_HOST)")
    syn.add_argument("-o", "--output", type=Path, help="file to write (default: print it)")
    return parser


def _qt_command(args) -> int:
    """The Qt clients (no gevent: Qt and Taurus use real threads); a session Beacon does
    not know, or no Beacon at TANGO_HOST, is said in one line."""
    import os

    import tango

    from blisstango.core.config.errors import ConfigError

    try:
        return _run_qt_command(args)
    except (ConfigError, tango.DevFailed, RuntimeError) as exc:
        text = exc.args[0].desc.strip() if isinstance(exc, tango.DevFailed) else str(exc)
        print(f"blisstango {args.command} (TANGO_HOST={os.environ.get('TANGO_HOST', 'unset')}): {text}",
              file=sys.stderr)
        return 1


def _run_qt_command(args) -> int:
    if args.command == "synoptic":
        from blisstango.taurus_gui.session_view import session_view
        from blisstango.taurus_gui.synoptic_gen import synoptic_text

        text = synoptic_text(session_view(args.session))
        if args.output is None:
            print(text, end="")
        else:
            args.output.write_text(text)
            print(f"wrote {args.output}")
        return 0
    from blisstango.taurus_gui import app

    if args.command == "plot":
        return app.run_plot(args.session)
    if args.conf_path:
        print(app.CONF_PATH)
        return 0
    if not args.session:
        print("blisstango gui: give the session (-s NAME)", file=sys.stderr)
        return 2
    return app.run_gui(args.session, args.synoptic, args.poll_period)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("gui", "plot", "synoptic"):
        return _qt_command(args)
    from blisstango.core import green

    green.patch()
    from blisstango.clients.launcher import control
    from blisstango.clients.launcher.rundir import RunDir, default_run_dir

    if args.command == "config":
        from blisstango.core.config.cli import main as config_main

        return config_main([str(args.config_dir)])
    if args.command == "shell":
        from blisstango.clients.itango_profile.shell import run_shell

        return run_shell(args.session, args.ipython_args)
    if args.command == "simulate":
        import logging

        from blisstango.core.comm import simulators

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        try:
            simulators.serve(str(args.config_dir), args.name, args.url, announce_it=args.announce,
                             ready=lambda url: print(f"serving {args.name} at {url}", flush=True))
        except (ValueError, OSError) as exc:
            print(f"blisstango simulate: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "demo":
        from blisstango.clients.demo import run_demo

        return run_demo(port=args.port, run_dir=args.run_dir)
    if args.command == "up":
        if args.config_dir is None and not args.tango_host:
            print("blisstango up: give the configuration folder, or --tango-host to join a "
                  "database on another host", file=sys.stderr)
            return 2
        run_dir = RunDir(Path(args.run_dir) if args.run_dir else default_run_dir(
            args.config_dir or Path(f"{args.host_name or 'host'}-{args.tango_host.replace(':', '-')}")))
        control.remember(run_dir)
        redis_urls = None
        if args.redis_settings or args.redis_data:
            if not (args.redis_settings and args.redis_data):
                print("give both --redis-settings and --redis-data, or neither", file=sys.stderr)
                return 2
            redis_urls = (args.redis_settings, args.redis_data)
        if args.detach:
            forwarded = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--detach"]
            if not args.run_dir:
                forwarded += ["--run-dir", str(run_dir.path)]
            return control.start_detached(forwarded, run_dir)
        from blisstango.clients.launcher.stack import Stack
        from blisstango.core.config import ConfigErrors

        try:
            stack = Stack(args.config_dir, run_dir, host=args.address, port=args.port, redis_urls=redis_urls,
                          web_port=None if args.no_web else args.web_port, web=not args.no_web,
                          host_name=args.host_name, database=args.tango_host)
        except ConfigErrors as exc:
            print(f"configuration {args.config_dir} has errors:\n{exc}", file=sys.stderr)
            return 1
        try:
            control.run_foreground(stack, on_ready=None if args.foreground else
                                   lambda s: control.print_status(s.run_dir))
        except (RuntimeError, FileNotFoundError, TimeoutError) as exc:
            print(f"blisstango up: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "status" and args.tango_host:
        return control.print_hosts(args.tango_host, as_json=args.json)
    run_dir = control.resolve_run_dir(args.config_dir, args.run_dir)
    if args.command == "down":
        return control.down(run_dir)
    return control.print_status(run_dir, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
