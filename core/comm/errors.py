"""What a communication failure is, for every transport (TCP, UDP, serial, Modbus).

A message always names the device, its address and what was being sent, so that the
person reading it knows which cable, which host and which request to look at.
"""

from __future__ import annotations


class CommunicationError(OSError):
    """The instrument could not be reached, closed the link, or answered nonsense."""


class CommunicationTimeout(CommunicationError, TimeoutError):
    """The instrument did not answer within the timeout."""


class LinkDown(CommunicationError, ConnectionError):
    """The link is down: a connection failed or was lost, and the next attempt is not due
    yet (the back-off); calls meanwhile fail at once with the last reason."""
