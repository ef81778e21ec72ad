"""An emulated WAGO 750 coupler: a real Modbus TCP server (pymodbus) holding the identity
registers and process image of a coupler with the configured modules, with physics
behind its inputs (valves that travel, thermocouples a relay heats)."""

from .image import AddressError, CouplerImage
from .physics import Heater, Physics, Valve
from .server import EmulatedCoupler, run, serve

__all__ = ["AddressError", "CouplerImage", "EmulatedCoupler", "Heater", "Physics", "Valve", "run", "serve"]
