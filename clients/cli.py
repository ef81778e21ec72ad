"""The `blisstango` command: bring a beamline up or down, show it, check its configuration."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blisstango", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start Redis, BeaconDB and every server the configuration implies")
    up.add_argument("config_dir", type=Path, help="root folder of the YAML configuration tree")
    up.add_argument("--run-dir", help="folder for logs, pids and runtime state "
                                      "(default: ~/.local/state/blisstango/<config>-<hash>)")
    up.add_argument("--host", default="127.0.0.1", help="address of TANGO_HOST (default 127.0.0.1)")
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

    demo = sub.add_parser("demo", help="run the demo beamline end to end, then stop it")
    demo.add_argument("--port", type=int, help="TANGO_HOST port (default: a free one)")
    demo.add_argument("--run-dir", help="folder for the demo's logs and state")

    shell = sub.add_parser("shell", help="the scientist's shell (itango) on a session of the beamline")
    shell.add_argument("-s", "--session", required=True, help="session name (from Beacon, via TANGO_HOST)")
    shell.add_argument("ipython_args", nargs=argparse.REMAINDER, help="passed on to IPython")

    config = sub.add_parser("config", help="load a configuration tree and list its objects and sessions")
    config.add_argument("config_dir", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    from blisstango.core import green

    green.patch()
    args = _parser().parse_args(argv)
    from blisstango.clients.launcher import control
    from blisstango.clients.launcher.rundir import RunDir, default_run_dir

    if args.command == "config":
        from blisstango.core.config.cli import main as config_main

        return config_main([str(args.config_dir)])
    if args.command == "shell":
        from blisstango.clients.itango_profile.shell import run_shell

        return run_shell(args.session, args.ipython_args)
    if args.command == "demo":
        from blisstango.clients.demo import run_demo

        return run_demo(port=args.port, run_dir=args.run_dir)
    if args.command == "up":
        run_dir = RunDir(Path(args.run_dir) if args.run_dir else default_run_dir(args.config_dir))
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
            stack = Stack(args.config_dir, run_dir, host=args.host, port=args.port, redis_urls=redis_urls,
                          web_port=None if args.no_web else args.web_port, web=not args.no_web)
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
    run_dir = control.resolve_run_dir(args.config_dir, args.run_dir)
    if args.command == "down":
        return control.down(run_dir)
    return control.print_status(run_dir, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
