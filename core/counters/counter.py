"""Counter and CounterController: what a scan counts, grouped by the device that reads it.

The toolbox groups the counters of a scan by controller and asks each controller for
one acquisition object that reads all its counters at once (one hardware read per point).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np


class Counter:
    """A named scalar (or array) value read by a controller; `fullname` names its channel."""

    def __init__(self, name: str, controller: CounterController, dtype=float, shape: Iterable[int] = (),
                 unit: str | None = None, conversion_function: Callable | None = None) -> None:
        self.name = name
        self._controller = controller
        self.dtype = np.dtype(dtype)
        self.shape = tuple(shape)
        self.unit = unit
        self.conversion_function = conversion_function
        controller.add_counter(self)

    @property
    def controller(self) -> CounterController:
        return self._controller

    @property
    def fullname(self) -> str:
        return f"{self._controller.name}:{self.name}"

    def convert(self, value):
        return self.conversion_function(value) if self.conversion_function else value

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.fullname}>"


class CounterController:
    """Owns counters and builds the acquisition object that reads them in a scan."""

    def __init__(self, name: str, master_controller: CounterController | None = None) -> None:
        self.name = name
        self.master_controller = master_controller
        self._counters: dict[str, Counter] = {}

    @property
    def counters(self) -> list[Counter]:
        return list(self._counters.values())

    def add_counter(self, counter: Counter) -> None:
        # a counter rebuilt from the configuration (a reload) replaces its predecessor
        self._counters[counter.name] = counter

    def get_default_acq_params(self, scan_params: dict) -> dict:
        """Acquisition parameters from the scan's (npoints, count_time)."""
        return {"npoints": int(scan_params.get("npoints", 1)),
                "count_time": float(scan_params.get("count_time", 0.0))}

    def get_acquisition_object(self, counters: list[Counter], acq_params: dict):
        """The AcquisitionSlave reading these counters in a scan."""
        raise NotImplementedError(f"controller {self.name} ({type(self).__name__}) cannot be scanned")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}: {[c.name for c in self.counters]}>"
