"""`LimaSimulator <instance>`: the LimaCCDs device of a simulated camera and its plugin
devices (roicounter, bpm), the way one Lima server serves one camera.

A synchronous Tango server, like Lima's: the camera runs in threads of its own
(acquisition, processing, saving, events) and requests are served by omniORB's threads.
"""

from __future__ import annotations

from blisstango.core import green

green.patch()

import sys  # noqa: E402

from tango import GreenMode  # noqa: E402

from ..serve import serve  # noqa: E402
from .ccds_device import LimaCCDs  # noqa: E402
from .plugin_devices import BpmDeviceServer, RoiCounterDeviceServer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    return serve("LimaSimulator", (LimaCCDs, RoiCounterDeviceServer, BpmDeviceServer), argv,
                 green_mode=GreenMode.Synchronous)


if __name__ == "__main__":
    sys.exit(main())
