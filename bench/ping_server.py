"""A light Tango device server for the start-up benchmark: `ping_server.py <instance>`
serves every PingDevice the database lists for PingServer/<instance>."""

import sys

from tango.server import Device, attribute, run


class PingDevice(Device):
    @attribute(dtype=float)
    def value(self) -> float:
        return 1.0


if __name__ == "__main__":
    run((PingDevice,), args=["PingServer"] + sys.argv[1:])
