"""Child process for the writer tests: writes a configuration tree in a loop until killed.

usage: python config_writer_child.py raw <file> <text_a> <text_b>
         alternate the two texts into file with atomic_write_text, forever
       python config_writer_child.py set <root> <object> <key>
         ConfigWriter.set_key(object, key, n) for n = 1, 2, ... forever, counting on from
         the integer already there (a restarted child never writes a smaller value)
       python config_writer_child.py add <root> <file> <prefix> <count>
         add <count> objects named <prefix><i> to file, then exit
"""

from blisstango.core import green

green.patch()

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from blisstango.core.config import load_tree  # noqa: E402
from blisstango.core.config.atomic import atomic_write_text  # noqa: E402
from blisstango.core.config.writer import ConfigWriter  # noqa: E402


def main(argv: list[str]) -> int:
    mode = argv[0]
    if mode == "raw":
        path = Path(argv[1])
        texts = [Path(argv[2]).read_text(), Path(argv[3]).read_text()]
        n = 0
        while True:
            atomic_write_text(path, texts[n % 2])
            n += 1
    if mode == "set":
        writer = ConfigWriter(argv[1])
        current = load_tree(argv[1])[argv[2]].get(argv[3])
        n = current if isinstance(current, int) else 0
        while True:
            n += 1
            writer.set_key(argv[2], argv[3], n)
            print(n, flush=True)
    if mode == "add":
        writer = ConfigWriter(argv[1])
        for i in range(int(argv[4])):
            writer.add_object(argv[2], {"name": f"{argv[3]}{i}", "index": i})
        return 0
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
