"""Communication with instruments: TCP, UDP, serial lines and Modbus TCP, gevent-friendly,
one reconnect rule (core.comm.link), errors naming the device, address and request."""

from .backoff import Backoff
from .config import CommConfigError, link_from_config
from .errors import CommunicationError, CommunicationTimeout, LinkDown
from .link import Link
from .serial import Serial
from .stream import StreamLink
from .tcp import Tcp
from .udp import Udp

__all__ = ["Backoff", "CommConfigError", "CommunicationError", "CommunicationTimeout", "Link",
           "LinkDown", "Serial", "StreamLink", "Tcp", "Udp", "link_from_config"]
