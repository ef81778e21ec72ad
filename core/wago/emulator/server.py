"""The emulated coupler on the network: pymodbus's Modbus TCP server in front of a
CouplerImage and its Physics.

pymodbus serves requests from its own datastore (SimDevice blocks); the block action
below runs before each request is answered: it advances the physics to now, fills the
requested addresses from the coupler's image (a read) or applies the request to the
image (a write), and refuses addresses the coupler would refuse.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from ..mapping import WagoMapping
from .image import OUTPUT_BASE, AddressError, CouplerImage
from .physics import Physics

log = logging.getLogger(__name__)

BIT_SPACE = 0x400      # coils / discrete inputs: inputs 0..0x1FF, outputs 0x200..0x3FF
WORD_SPACE = 0x2100    # registers: images 0..0x2FF, constants and identity 0x2000..0x2070


@dataclass
class EmulatedCoupler:
    """A coupler's image and physics, answering Modbus requests."""

    image: CouplerImage
    physics: Physics

    @classmethod
    def build(cls, mapping: WagoMapping, spec: dict | None = None, coupler: str | None = None) -> EmulatedCoupler:
        image = CouplerImage(mapping, coupler)
        return cls(image, Physics(mapping, spec, image, time.monotonic()))

    async def action(self, function_code: int, start_address: int, address: int, count: int,
                     registers: list[int], set_values: list | None) -> ExcCodes | None:
        """pymodbus's SimDevice action (see the module docstring)."""
        self.physics.advance(time.monotonic())
        try:
            if set_values is None:
                self._read(function_code, start_address, address, count, registers)
            elif function_code in (5, 15):
                self.image.write_bits(address, list(set_values))
            elif function_code in (6, 16):
                self.image.write_words(address, list(set_values))
            else:
                return ExcCodes.ILLEGAL_FUNCTION
        except AddressError:
            return ExcCodes.ILLEGAL_ADDRESS
        return None

    def _read(self, function_code: int, start: int, address: int, count: int, registers: list[int]) -> None:
        # a write is answered with what its address then holds: the outputs, at either range
        shift = OUTPUT_BASE if function_code in (5, 15, 6, 16) and address < OUTPUT_BASE else 0
        if function_code in (1, 2, 5, 15):
            # bit blocks hold 16 bits per register, bit 0 first; for bits pymodbus passes
            # the number of registers the request touches, not of bits: fill them whole
            self.image.read_bits(address + shift, 1)  # the first bit must exist
            first = address // 16
            for reg in range(first, first + count):
                registers[reg - start] = sum(self.image.bit_or_zero(reg * 16 + i + shift) << i for i in range(16))
        else:
            registers[address - start:address - start + count] = self.image.read_words(address + shift, count)

    def device(self) -> SimDevice:
        """The pymodbus device: one id for every unit id, as a coupler answers any."""
        bits = [SimData(0, values=[False] * BIT_SPACE, datatype=DataType.BITS)]
        words = [SimData(0, count=WORD_SPACE, values=0, datatype=DataType.REGISTERS)]
        return SimDevice(0, simdata=(bits, [SimData(0, values=[False] * BIT_SPACE, datatype=DataType.BITS)],
                                     words, [SimData(0, count=WORD_SPACE, values=0,
                                                     datatype=DataType.REGISTERS)]),
                         action=self.action)


async def serve(coupler: EmulatedCoupler, host: str, port: int, ready=None) -> None:
    """Serve until cancelled; ready(host, port) is called once listening."""
    server = ModbusTcpServer(coupler.device(), address=(host, port))
    await server.serve_forever(background=True)  # raises if the address is taken
    sockets = getattr(server.transport, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port  # port 0: the one the OS chose
    if ready is not None:
        ready(host, bound)
    try:
        await server.serving
    finally:
        await server.shutdown()


def run(coupler: EmulatedCoupler, host: str, port: int, ready=None) -> None:
    """Blocking serve() until SIGTERM or SIGINT."""
    import signal

    async def main() -> None:
        task = asyncio.ensure_future(serve(coupler, host, port, ready))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(main())
