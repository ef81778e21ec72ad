"""python -m blisstango.core.config <dir>"""

from blisstango.core import green

green.patch()

import sys  # noqa: E402

from blisstango.core.config.cli import main  # noqa: E402

sys.exit(main())
