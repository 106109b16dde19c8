"""A busy machine for ``--busy``: one busy-loop process per core while rows are measured again.

    python -m stealpool_bench.busy SECONDS    # one busy loop, ending by itself after SECONDS

``busy_machine`` starts them, waits until each one is spinning, and stops
them on the way out, error or not.
Each loop also ends by itself after its time limit, so a harness killed
outright (where no ``finally`` runs) leaves nothing spinning for long.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

STARTED = b"spinning\n"


def spin(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


class BusyLoops:
    def __init__(self, loops: list[subprocess.Popen[bytes]]) -> None:
        self._loops = loops

    def __len__(self) -> int:
        return len(self._loops)

    def all_spinning(self) -> bool:
        """False once any loop has ended (its time limit came first): rows measured since were less busy."""
        return all(loop.poll() is None for loop in self._loops)


@contextlib.contextmanager
def busy_machine(limit_s: float) -> Iterator[BusyLoops]:
    """Runs one busy loop per core; each ends by itself after ``limit_s``."""
    loops: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(os.cpu_count() or 1):
            command = [sys.executable, "-m", "stealpool_bench.busy", str(limit_s)]
            loops.append(subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE))
        # A row measured while a loop is still starting up would be measured on a less busy machine.
        for loop in loops:
            assert loop.stdout is not None
            if loop.stdout.readline() != STARTED:
                raise RuntimeError(f"a busy loop exited before it started spinning (exit code {loop.wait()})")
        yield BusyLoops(loops)
    finally:
        for loop in loops:
            loop.kill()
        for loop in loops:
            loop.wait()


if __name__ == "__main__":
    # Ctrl-C reaches the whole process group: the bench stops the loops itself, without a traceback from each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdout.buffer.write(STARTED)
    sys.stdout.buffer.flush()
    spin(float(sys.argv[1]))
