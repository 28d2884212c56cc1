"""``python -m sim``: the same command as ``sim``."""

import sys

from .cli import main

sys.exit(main())
