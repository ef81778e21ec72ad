"""Serving the editor: gevent's WSGI server on a port, loopback unless told otherwise."""

from __future__ import annotations

import ipaddress
import logging
import socket

from gevent.pywsgi import WSGIServer

from .app import WebOptions, create_app
from .history import ConfigHistory

log = logging.getLogger(__name__)


class WebConfigError(RuntimeError):
    """The editor cannot be served as asked; the message says why."""


class WebPortError(WebConfigError):
    """The editor's port cannot be bound (taken by another process)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listener(host: str, port: int):
    """A listening socket whose connections send at once (TCP_NODELAY, inherited by the
    accepted sockets): a response written as headers then body otherwise waits ~40 ms for
    the browser's delayed ACK (Nagle)."""
    from gevent import socket as gsocket

    family = gsocket.AF_INET6 if ":" in host else gsocket.AF_INET
    sock = gsocket.socket(family, gsocket.SOCK_STREAM)
    sock.setsockopt(gsocket.SOL_SOCKET, gsocket.SO_REUSEADDR, 1)
    sock.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    return sock


def start_web_editor(service, host: str, port: int, *, git_dir=None, read_only: bool = False,
                     token: str | None = None) -> tuple[WSGIServer, str]:
    """Start serving (non-blocking, in the gevent hub); returns (server, URL to open).

    A bind that is not loopback needs an access token: the configuration (and through
    it every Tango device) is otherwise open to the whole network.
    """
    if not is_loopback(host) and not token:
        raise WebConfigError(f"refusing to serve the configuration editor on {host}: a "
                             "non-loopback address needs an access token (--web-token)")
    history = ConfigHistory(service.root, git_dir).open()
    app = create_app(service, history, WebOptions(read_only=read_only, token=token))
    try:
        server = WSGIServer(_listener(host, port), app, log=None, error_log=log)
        server.start()
    except OSError as exc:
        raise WebPortError(f"cannot serve the configuration editor on {host}:{port}: "
                             f"{exc.strerror or exc}") from exc
    shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{server.server_port}/"
    if token:
        url += f"?token={token}"
    return server, url
