"""How long the whole machine stalled during an interval, as seen from
another process.

A clock process writes the time every ``TICK`` into a file both processes
map. A gap between two of its ticks much longer than ``TICK`` is a stretch
in which the machine ran no runnable process of ours on time (a loaded CI
runner, another build on the same two cores), so no thread, interpreter
lock or pool of this process caused it. The differential fuzzer excuses
that much, and only that much, of a timed wait's lateness: a wait that
stalls inside this process while the clock process ticks on time still
fails.

``CLOCK_MONOTONIC`` (``time.monotonic``) is one clock for every process on
Linux and macOS, so the two processes' times compare directly.
"""

from __future__ import annotations

import atexit
import mmap
import os
import struct
import subprocess
import sys
import tempfile
import time

TICK = 0.005
# About 40 s of history at one tick per TICK: far longer than any wait the fuzzer times.
SLOTS = 8192
_COUNT = struct.Struct("q")
_TIME = struct.Struct("d")

_CLOCK = f"""
import mmap, os, struct, sys, time
parent = {os.getpid()}
with open(sys.argv[1], "r+b") as file:
    ticks = mmap.mmap(file.fileno(), 0)
count = 0
while os.getppid() == parent:
    struct.pack_into("d", ticks, {_COUNT.size} + {_TIME.size} * (count % {SLOTS}), time.monotonic())
    count += 1
    struct.pack_into("q", ticks, 0, count)
    time.sleep({TICK})
"""


class StallMeter:
    def __init__(self) -> None:
        size = _COUNT.size + _TIME.size * SLOTS
        with tempfile.NamedTemporaryFile(prefix="stealpool-stall-meter-", delete=False) as file:
            file.truncate(size)
            path = file.name
        with open(path, "r+b") as file:
            self._ticks = mmap.mmap(file.fileno(), size)
        self._clock = subprocess.Popen([sys.executable, "-c", _CLOCK, path], stdin=subprocess.DEVNULL)
        atexit.register(self._stop, path, os.getpid())

    def _stop(self, path: str, owner: int) -> None:
        # A child forked later inherits this exit hook: only the owner stops the clock.
        if os.getpid() != owner:
            return
        self._clock.kill()
        self._clock.wait()
        os.unlink(path)

    def ticks(self) -> int:
        """How many times the clock process has ticked."""
        return _COUNT.unpack_from(self._ticks, 0)[0]

    def longest_stall(self, start: float, end: float) -> float:
        """The longest stretch of ``[start, end]`` in which the clock process
        was more than a tick late; 0.0 if it kept time, or if its history no
        longer reaches back to ``start``."""
        count = self.ticks()
        later = time.monotonic()
        longest = 0.0
        for index in range(count - 1, max(count - SLOTS, 0) - 1, -1):
            tick = _TIME.unpack_from(self._ticks, _COUNT.size + _TIME.size * (index % SLOTS))[0]
            if later > start:
                longest = max(longest, min(later, end) - max(tick, start) - TICK)
            if tick <= start:
                return max(longest, 0.0)
            later = tick
        return 0.0


_meter: StallMeter | None = None


def start() -> None:
    """Starts the process-wide meter, before the waits it will be asked about."""
    global _meter
    if _meter is None:
        _meter = StallMeter()


def machine_stall(start: float, end: float) -> float:
    """``StallMeter.longest_stall`` of the process-wide meter; 0.0 before it started."""
    return 0.0 if _meter is None else _meter.longest_stall(start, end)
