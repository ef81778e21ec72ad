"""Back-off between attempts to reach something that failed: the delay doubles from
`first` up to `longest` while attempts keep failing, and a success starts it again.

The one retry rule: the supervisor's restarts, the Modbus link, a server waiting at boot
for Beacon or Redis, a Redis call across a restart (`retry`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


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


def retry(fn: Callable[[], T], errors: type[BaseException] | tuple[type[BaseException], ...],
          timeout: float | None = None, backoff: Backoff | None = None,
          on_retry: Callable[[BaseException], None] | None = None) -> T:
    """fn() until it returns. One of `errors` is tried again after the back-off's delay
    (on_retry(exc) first: say why), until `timeout` seconds have passed (None: forever);
    then it is raised. The wait is time.sleep: a greenlet's in a gevent-patched process."""
    backoff = backoff or Backoff()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            return fn()
        except errors as exc:
            if deadline is not None and time.monotonic() > deadline:
                raise
            if on_retry is not None:
                on_retry(exc)
            time.sleep(backoff.failed())
