"""``python -m stealpool_bench``; see ``stealpool_bench`` for what it measures."""

from __future__ import annotations

import sys

from .cli import main

# Guarded: the process-limit workload spawns children that import this module.
if __name__ == "__main__":
    sys.exit(main())
