"""Wago programmable I/O (WAGO 750 series) over Modbus TCP: the module catalogue, the
logical mapping, the controller, and a coupler emulator (emulator/)."""

from .controller import WagoController
from .errors import WagoChannelError, WagoConfigError, WagoError, WagoModuleMismatch, WagoValueError
from .identity import CouplerIdentity
from .mapping import Channel, WagoMapping
from .modules import MODULES, ModuleType, module

__all__ = ["MODULES", "Channel", "CouplerIdentity", "ModuleType", "WagoChannelError", "WagoConfigError",
           "WagoController", "WagoError", "WagoMapping", "WagoModuleMismatch", "WagoValueError", "module"]
