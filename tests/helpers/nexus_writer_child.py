"""A WriterService in its own process: `nexus_writer_child.py <data url> <session> <src> <dst>`
writes the session's scans with file names whose prefix src is replaced by dst."""

from blisstango.core import green

green.patch()

import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
import redis  # noqa: E402

from blisstango.core.data.nexus import WriterService  # noqa: E402


def main() -> None:
    url, session, src, dst = sys.argv[1:5]
    logging.basicConfig(level=logging.INFO)
    service = WriterService(redis.Redis.from_url(url), [session],
                            filename_map=lambda p: dst + p[len(src):] if p.startswith(src) else p).start()
    service.ready.wait()
    print("following", flush=True)
    while True:  # as the NexusWriter server does: a new process once HDF5 could not free a file
        gevent.sleep(0.1)
        if why := service.must_restart:
            print(f"restarting: {why}", flush=True)
            os._exit(75)


if __name__ == "__main__":
    main()
