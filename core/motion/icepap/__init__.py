"""IcePAP motor controllers: the protocol over core.comm, the board status in axis states,
and what `blisstango up` needs to serve the makers' simulator in their place."""

from .controller import IcePAP, IcePAPError
from .status import BoardStatus

__all__ = ["BoardStatus", "IcePAP", "IcePAPError"]
