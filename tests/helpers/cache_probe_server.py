"""``python cache_probe_server.py <instance>``: a PyTango device server whose devices show,
as attributes, the device and class properties they read from the database at start-up
(through cppTango's server cache when the database serves one)."""

from blisstango.core import green

green.patch()

import tango  # noqa: E402
from tango.server import Device, attribute, class_property, device_property, run  # noqa: E402


class CacheProbe(Device):
    gain = device_property(dtype=float, default_value=-1.0)
    labels = device_property(dtype=(str,), default_value=[])
    site = class_property(dtype=str, default_value="")

    @attribute(dtype=float)
    def position(self) -> float:
        return 1.5

    @attribute(dtype=float)
    def gain_seen(self) -> float:
        return self.gain

    @attribute(dtype=(str,), max_dim_x=64)
    def labels_seen(self) -> list[str]:
        return list(self.labels)

    @attribute(dtype=str)
    def site_seen(self) -> str:
        return self.site

    def init_device(self):
        super().init_device()
        self.set_state(tango.DevState.ON)


if __name__ == "__main__":
    import sys

    run((CacheProbe,), args=["CacheProbe", *sys.argv[1:]])
