"""Shutter: open/close through its controller, state OPEN/CLOSED/UNKNOWN/FAULT."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gevent

from .errors import MotionError

if TYPE_CHECKING:
    from .controller import Controller


class Shutter:
    def __init__(self, name: str, controller: Controller, config: dict) -> None:
        self.name = name
        self.controller = controller
        self.config = dict(config)
        self.timeout = float(self.config.get("timeout", 5.0))

    @property
    def state(self) -> str:
        return self.controller.shutter_state(self)

    def _go(self, wanted: str) -> None:
        (self.controller.shutter_open if wanted == "OPEN" else self.controller.shutter_close)(self)
        with gevent.Timeout(self.timeout, False):
            while self.state != wanted:
                gevent.sleep(0.01)
        if self.state != wanted:
            raise MotionError(f"{self.name}: still {self.state} {self.timeout} s after {wanted.lower()} request")

    def open(self) -> None:
        self._go("OPEN")

    def close(self) -> None:
        self._go("CLOSED")

    def __repr__(self) -> str:
        return f"<Shutter {self.name}>"
