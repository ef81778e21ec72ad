"""Cryo-con temperature controllers: the 24C over core.comm (TCP or serial) as a
regulation hardware controller, and the simulators `blisstango up` serves in its place."""

from .controller import CryoCon

__all__ = ["CryoCon"]
