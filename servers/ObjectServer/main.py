"""`ObjectServer <instance>`: the Tango server of configuration objects with `tango: {export: true}`."""

from __future__ import annotations

from blisstango.core import green

green.patch()

import logging  # noqa: E402
import sys  # noqa: E402

import tango  # noqa: E402

from blisstango.core.config.root import process_objects  # noqa: E402
from blisstango.core.config.servers import exported_nodes  # noqa: E402

from ..serve import serve  # noqa: E402
from .descriptor import SERVER_KIND, tango_class  # noqa: E402
from .device import GenericObject  # noqa: E402


def device_classes(instance: str) -> tuple[type, ...]:
    """One Tango class per object this instance serves (descriptor.class_of): each a
    GenericObject of its own name."""
    tree = process_objects().tree
    names = sorted(node.name for _kind, node, inst in exported_nodes(tree, [SERVER_KIND]) if inst == instance)
    return tuple(type(tango_class(name), (GenericObject,), {}) for name in names)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = list(sys.argv if argv is None else argv)
    instance = args[1] if len(args) > 1 and not args[1].startswith("-") else ""
    classes = device_classes(instance) if instance else ()
    if not classes:
        logging.getLogger(__name__).warning("ObjectServer %s: no object of the configuration names this "
                                            "instance", instance or "(no instance given)")
        classes = (GenericObject,)
    # BY_DEVICE: announced properties pushed under the device monitor (servers.pusher)
    return serve("ObjectServer", classes, args, serial_model=tango.SerialModel.BY_DEVICE)


if __name__ == "__main__":
    sys.exit(main())
