"""``python -m bench.bot_overhead``: the command line."""

from __future__ import annotations

import sys

from bench.bot_overhead.cli import main

if __name__ == "__main__":
    sys.exit(main())
