"""Back-off between attempts to reach something that failed: the delay doubles from
`first` up to `longest` while attempts keep failing, and a success starts it again."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Backoff:
    first: float = 0.1
    longest: float = 2.0
    clock: object = field(default=time.monotonic, repr=False)
    delay: float = 0.0  # the wait after the last failure, 0 while things work
    _next: float = field(default=0.0, repr=False)

    def failed(self) -> float:
        """One more failure: returns the delay before the next attempt."""
        self.delay = self.first if self.delay <= 0 else min(self.delay * 2, self.longest)
        self._next = self.clock() + self.delay
        return self.delay

    def succeeded(self) -> None:
        self.delay = 0.0
        self._next = 0.0

    def wait_left(self) -> float:
        """Seconds until the next attempt is due (0 when it may be made now)."""
        return max(0.0, self._next - self.clock()) if self.delay else 0.0
