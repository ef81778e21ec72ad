"""What every blisstango server's `main()` does once its module has patched gevent: run
its device classes under the server's own name, in gevent green mode (or synchronous)."""

from __future__ import annotations

import sys
from typing import Any

from tango import GreenMode
from tango.server import run

from blisstango.core.comm.address import orb_endpoint_args

#: seconds a thread holding the GIL keeps it while another waits (Python's default: 5 ms)
SWITCH_INTERVAL = 0.001


def serve(name: str, classes: tuple, argv: list[str] | None = None,
          green_mode: GreenMode = GreenMode.Gevent, **run_options: Any) -> int:
    """Run the Tango server `name <instance> [options]` (argv[0] becomes `name`, so the
    server registers under it however it was started); returns the exit status.
    The server listens on one address, core.comm.address's (loopback when TANGO_HOST
    is local, the interface towards a remote database otherwise), never on all.
    green_mode Synchronous is for a server whose work runs in threads of its own (a
    detector simulator), its requests served in omniORB's threads."""
    # requests wait for the GIL in omniORB's threads while the hub runs Python: without
    # this, a reply can sit up to 5 ms (the default interval) behind the hub's next work
    # (BeaconDB does the same)
    sys.setswitchinterval(SWITCH_INTERVAL)
    args = list(sys.argv if argv is None else argv)
    args[0] = name
    args = orb_endpoint_args(args)
    run(classes, args=args, green_mode=green_mode, **run_options)
    return 0
