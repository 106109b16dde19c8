"""The stall meter the differential fuzzer excuses machine stalls with."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest
from stall_meter import TICK, StallMeter


def test_an_interval_before_the_clock_started_excuses_nothing() -> None:
    assert StallMeter().longest_stall(0.0, 1.0) == 0.0


@pytest.mark.skipif(sys.platform == "win32", reason="stops the clock process with SIGSTOP")
def test_a_clock_process_that_could_not_run_counts_as_a_stall() -> None:
    meter = StallMeter()
    deadline = time.monotonic() + 60
    while meter.ticks() < 2:  # its history must reach back before the interval
        assert time.monotonic() < deadline, "the clock process never ticked"
        time.sleep(0.01)
    start = time.monotonic()
    os.kill(meter._clock.pid, signal.SIGSTOP)
    try:
        time.sleep(0.5)
    finally:
        os.kill(meter._clock.pid, signal.SIGCONT)
    end = time.monotonic()
    # Stopped, the clock wrote nothing for at least the 0.5 s slept.
    assert meter.longest_stall(start, end) >= 0.5 - TICK
