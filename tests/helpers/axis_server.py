"""AxisManager device classes served by the real `AxisManager` server in its own
process, its devices registered in a BeaconDB as the tree implies, on a tree and a
settings Redis the test owns: device-level tests through Tango clients."""

from __future__ import annotations

import itertools
import os
from contextlib import contextmanager
from pathlib import Path

from helpers.axis_e2e import tree_stack

_STACKS = itertools.count()
#: the demo's mockup and slit axes: the icepap's would look for their instrument
DEMO_AXES = ("m0", "m1", "sl_up", "sl_down", "sl_vgap", "sl_voffset")


@contextmanager
def axis_context(tree: Path, redis_url: str, axes=DEMO_AXES):
    """Yield {device name: fully qualified access} of the given axes of the tree and
    their manager (one `AxisManager demo` serving only those, on a BeaconDB of its own,
    stopped after)."""
    work = tree.parent / f"axis-stack-{os.getpid()}-{next(_STACKS)}"
    work.mkdir()
    with tree_stack(tree, work, redis_url, set(axes)) as (server, registered):
        names = [*registered.get("demo", []), server.manager.split("/", 3)[-1]]
        yield {name: f"tango://{server.tango_host}/{name}" for name in names}
