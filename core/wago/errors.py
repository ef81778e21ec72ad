"""Wago errors: each names the Wago object, the channel or slot, and the allowed values."""

from __future__ import annotations

from ..config.errors import ConfigError


class WagoError(RuntimeError):
    """A Wago request that cannot be carried out."""


class WagoConfigError(ConfigError):
    """The YAML mapping of a Wago object is wrong (unknown module, channel count)."""


class WagoModuleMismatch(WagoError):
    """The modules plugged in the coupler are not those the configuration names."""


class WagoChannelError(WagoError, KeyError):
    """An unknown logical name, key or channel, or an input where an output is needed."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class WagoValueError(WagoError, ValueError):
    """A value the module cannot take (out of range, not a number), or a malformed request."""
