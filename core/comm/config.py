"""Links from YAML, as BLISS configures them:

    tcp: {url: iceid311:5000}                       # or "tcp://host:port"
    udp: {url: host:port}
    serial: {url: /dev/ttyS0, baudrate: 9600}       # bytesize, parity, stopbits, xonxoff, rtscts

Each mapping may also give `timeout` (s) and `eol`. A controller with a `simulator:`
block is talked to where its simulator is served instead (same transport; see
core.comm.simulators): the same YAML without the block talks to the instrument.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .link import Link

KINDS = ("tcp", "udp", "serial")
SERIAL_KEYS = ("baudrate", "bytesize", "parity", "stopbits", "xonxoff", "rtscts")


class CommConfigError(ValueError):
    """The communication part of an object's YAML is missing or wrong."""


def link_kind(config: Mapping[str, Any], name: str) -> str:
    """Which of tcp/udp/serial the object's YAML chose (exactly one)."""
    kinds = [k for k in KINDS if k in config]
    if not kinds:
        raise CommConfigError(f"{name}: no communication given: add `tcp: {{url: host:port}}`, "
                              f"`udp: {{url: host:port}}` or `serial: {{url: /dev/ttyS0}}`")
    if len(kinds) > 1:
        raise CommConfigError(f"{name}: several communications given ({', '.join(kinds)}): keep one")
    return kinds[0]


def link_settings(config: Mapping[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    """(kind, settings) with the simulator's url in place of the instrument's when the
    object has a `simulator:` block."""
    kind = link_kind(config, name)
    settings = config[kind]
    if isinstance(settings, str):
        settings = {"url": settings}
    if not isinstance(settings, Mapping) or not settings.get("url"):
        raise CommConfigError(f"{name}: `{kind}` needs a url, e.g. {kind}: {{url: "
                              f"{'/dev/ttyS0' if kind == 'serial' else 'host:port'}}}")
    settings = dict(settings)
    if "simulator" in config:
        from .simulators import announced, block_of

        url = announced(name) or block_of(config).get("url")
        if not url:
            raise CommConfigError(f"{name}: its simulator has not said where it is served: "
                                  "`blisstango up` runs it (or give `simulator: {url: ...}`)")
        settings["url"] = str(url)
    return kind, settings


def link_from_config(config: Mapping[str, Any], name: str, *, default_port: int | None = None,
                     **defaults: Any) -> Link:
    """The Link an object's YAML describes; `defaults` (eol, write_eol, timeout, ...) are
    the protocol's own, which the YAML may override (timeout, eol and the serial settings)."""
    from .serial import Serial
    from .tcp import Tcp
    from .udp import Udp

    kind, settings = link_settings(config, name)
    kwargs = dict(defaults, name=name)
    for key in ("timeout", "eol"):
        if key in settings:
            kwargs[key] = settings[key]
    if "timeout" in kwargs:
        given = kwargs["timeout"]
        try:
            kwargs["timeout"] = float(given)
        except (TypeError, ValueError):
            raise CommConfigError(f"{name}: {kind} timeout {given!r} is not a number of seconds") from None
        if not kwargs["timeout"] > 0:
            raise CommConfigError(f"{name}: {kind} timeout {given!r} must be above 0 s")
    url = str(settings["url"])
    try:
        if kind == "serial":
            for key in SERIAL_KEYS:
                if key in settings:
                    kwargs[key] = settings[key]
            return Serial(url, **kwargs)
        if kind == "udp":
            return Udp.from_url(url, default_port=default_port, **kwargs)
        return Tcp.from_url(url, default_port=default_port, **kwargs)
    except ValueError as exc:
        text = str(exc)
        raise CommConfigError(text if text.startswith(f"{name}:") else f"{name}: {text}") from None
