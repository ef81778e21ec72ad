"""python -m blisstango.core.config <dir>"""

from blisstango.core import green

green.patch()

import os  # noqa: E402
import sys  # noqa: E402

from blisstango.core.config.cli import main  # noqa: E402

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:  # `... | head`: the reader left, nothing more to say
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 0
sys.exit(code)
