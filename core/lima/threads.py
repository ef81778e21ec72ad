"""Queues between real threads. A gevent-patched process (every blisstango process is)
has queue.Queue and queue.SimpleQueue replaced by gevent's, which only work between the
greenlets of one thread; the detector's acquisition, processing and saving threads use
the originals."""

from __future__ import annotations

from gevent.monkey import get_original

SimpleQueue = get_original("queue", "SimpleQueue")
