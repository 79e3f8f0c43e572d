"""``python -m bot``: the same as the ``studyon`` command."""

import sys

from bot.cli import main

sys.exit(main())
