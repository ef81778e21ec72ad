"""Running Tango device servers without a database: the database device itself.

A process that *is* the Tango database cannot ask a database for its device list: it
creates fixed device names itself (device_factory) and exports the DataBase device
under the CORBA key ``database``, the key clients use with TANGO_HOST.
"""

from __future__ import annotations

from tango.globals import get_class_by_class, get_constructed_class_by_class


def fixed_devices(device_klass, names_and_keys: list[tuple[str, str]]) -> None:
    """Make the Tango class of a high-level device create exactly these devices."""

    def device_factory(self, device_list):
        info = get_class_by_class(self.__class__)
        klass = get_constructed_class_by_class(self.__class__)
        _, impl, _ = info
        impl._device_class_instance = klass
        devices = []
        for name, _key in names_and_keys:
            dev = self._new_device(impl, klass, name)
            self._add_device(dev)
            devices.append(dev)
        self.dyn_attr(devices)
        for dev, (_name, key) in zip(devices, names_and_keys):
            self.export_device(dev, key)
        self.py_dev_list += devices

    device_klass.TangoClassClass.device_factory = device_factory
