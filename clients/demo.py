"""`blisstango demo`: the demo beamline brought up on its embedded defaults.

Starts the whole stack (Redis, BeaconDB, every implied server), shows what runs and
which Tango devices the beamline exports, runs an alignment ascan of m0 over the
simulated diode and camera cam1 through the ScanServer (live table from Tango events),
prints the peaks found and the HDF5 file the NexusWriter wrote, then stops everything.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from blisstango.clients.launcher.control import print_status
from blisstango.clients.launcher.rundir import RunDir, default_run_dir
from blisstango.clients.launcher.stack import Stack
from blisstango.core.config import load_tree
from blisstango.examples import demo_config


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _show_config(config_dir: Path) -> None:
    tree = load_tree(config_dir)
    print(f"demo beamline: {len(tree.names())} objects in {config_dir}")
    for session in tree.sessions():
        objs = tree.get_session(session).object_names
        print(f"  session {session}: {', '.join(objs)}")


def _show_devices() -> None:
    import tango

    db = tango.Database()
    exported = db.get_device_exported("*")
    print(f"Tango devices exported through TANGO_HOST={db.get_db_host()}:{db.get_db_port()}:")
    for name in exported:
        try:
            alias = db.get_alias_from_device(name)
        except tango.DevFailed:
            alias = ""
        print(f"  {name:32} {alias}")


def _alignment(data_dir: Path) -> None:
    from blisstango.clients.demo_scan import run_alignment

    print("alignment scan of m0 over the diode and the camera cam1, through demo/scan/demo:")
    res = run_alignment(data_dir)
    print(f"peak of diode at m0 = {res['peak']:.3f} mm (cen {res['cen']:.3f}, fwhm {res['fwhm']:.3f}) "
          f"from {res['points']} points")
    print(f"peak of cam1 ROI beam at m0 = {res['beam_peak']:.3f} mm")
    print(f"HDF5 file: {res['file']} entry {res['entry']} (cam1 frames in measurement/cam1_image)")


def run_demo(port: int | None = None, run_dir: str | None = None) -> int:
    """Bring the demo beamline up, show it, bring it down. Returns the exit code."""
    rd = RunDir(Path(run_dir) if run_dir else default_run_dir(demo_config()))
    # A fresh copy: the servers write to their configuration (Tango properties land in
    # YAML), and the shipped tree must stay as shipped, even in a read-only install.
    config_dir = rd.path / "config"
    shutil.rmtree(config_dir, ignore_errors=True)
    shutil.copytree(demo_config(), config_dir)
    _show_config(config_dir)
    stack = Stack(config_dir, rd, port=port or _free_port())
    try:
        stack.start()
        print_status(rd)
        _show_devices()
        _alignment(rd.sub("data"))
    except (RuntimeError, TimeoutError, FileNotFoundError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()
    print("demo stack stopped: no process left running")
    return 0
