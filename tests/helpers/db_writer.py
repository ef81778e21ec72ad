"""A client process that writes device properties in a loop until the database dies.

Run as ``python db_writer.py <device> <tag>``: writes property ``w_<tag>`` = i for
i = 1, 2, ... and prints ``ack <i>`` (flushed) after each acknowledged write; exits on
the first failure. The test kills the database under it and checks every ack survived.
"""

import sys

import tango


def main() -> None:
    device, tag = sys.argv[1], sys.argv[2]
    db = tango.Database()
    i = 0
    while True:
        i += 1
        try:
            db.put_device_property(device, {f"w_{tag}": [str(i)]})
        except tango.DevFailed:
            return
        print(f"ack {i}", flush=True)


if __name__ == "__main__":
    main()
