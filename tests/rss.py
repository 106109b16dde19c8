"""The process's resident set size, for the tests that check memory stays flat."""

from __future__ import annotations

import os


def rss_bytes() -> int | None:
    """Resident set size now, where ``/proc/self/statm`` exists; else None."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None
