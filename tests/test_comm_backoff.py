"""core.comm.backoff.retry: the one retry rule (boot loops, Redis calls across a restart)."""

from __future__ import annotations

import time

import pytest

from blisstango.core.comm.backoff import Backoff, retry


def test_retry_tries_again_after_growing_delays_until_it_works():
    calls, seen = [], []

    def flaky() -> str:
        calls.append(time.monotonic())
        if len(calls) < 4:
            raise ConnectionError(f"refused #{len(calls)}")
        return "up"

    backoff = Backoff(first=0.01, longest=0.04)
    assert retry(flaky, ConnectionError, timeout=10, backoff=backoff, on_retry=lambda e: seen.append(str(e))) == "up"
    assert seen == ["refused #1", "refused #2", "refused #3"]  # each failure reported once, in order
    gaps = [b - a for a, b in zip(calls, calls[1:])]
    assert [g >= d for g, d in zip(gaps, (0.01, 0.02, 0.04))] == [True] * 3


def test_retry_raises_the_last_error_after_the_timeout_and_lets_others_through():
    def down():
        raise ConnectionError("still down")

    with pytest.raises(ConnectionError, match="still down"):
        retry(down, (ConnectionError, TimeoutError), timeout=0.05, backoff=Backoff(first=0.01, longest=0.01))

    def wrong():
        raise ValueError("not a connection problem")

    with pytest.raises(ValueError):  # not one of `errors`: no retry
        retry(wrong, ConnectionError, timeout=10)
