"""`Regulation <instance>`: the Tango server of the configured regulation loops, inputs
and outputs."""

from __future__ import annotations

from blisstango.core import green

green.patch()

import gc  # noqa: E402
import sys  # noqa: E402

from blisstango.core.config.root import built_process_objects  # noqa: E402

from ..serve import serve  # noqa: E402
from .io_devices import Input, Output  # noqa: E402
from .loop_device import Loop  # noqa: E402


def _freeze_startup_objects() -> None:
    """Everything built so far (Tango, numpy, the configuration, the devices) lives as
    long as the server: out of the garbage collector's sight, a full collection costs
    microseconds instead of the tens of milliseconds a PID sample would wait for."""
    gc.collect()
    gc.freeze()


def main(argv: list[str] | None = None) -> int:
    try:
        return serve("Regulation", (Loop, Input, Output), argv, post_init_callback=_freeze_startup_objects)
    finally:
        for obj in built_process_objects():  # the hardware keeps what it has; its state is saved
            close = getattr(obj, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing goes on for the others
                    pass


if __name__ == "__main__":
    sys.exit(main())
