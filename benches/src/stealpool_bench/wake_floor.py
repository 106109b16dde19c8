"""The least a sequential round trip from an event loop to a thread can cost.

A thread needs the GIL to run a Python call, and a loop awaiting that call
holds the GIL until it has nothing left to do and sleeps in its selector.
So each such round trip has the loop fall asleep and be woken from another
core at least once. ``WakeFloor()`` is that and nothing else: a process of
its own (it shares no GIL with the loop) spins on another core, so it
never sleeps and needs no waking, and answers each request through a pipe
as soon as it sees the loop's thread asleep.

A worker that sleeps between calls, as every pool's does once its short
spin is over, must itself be woken as well: ``WakeFloor(parked=True)``
answers from a process blocked on a pipe between requests, placed by the
kernel as a pool's thread is, so each call wakes it and then the loop. No
executor whose workers sleep between calls can beat that one.

Linux only: the thread's state is read from ``/proc``.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import subprocess
import sys
import tempfile
import threading
from typing import Any, Callable

STOP = 255

# Both answerers answer only once the loop's thread is in state S
# (sleeping): answering earlier would find the loop still awake, and the
# round trip would not include the wake-up every real worker causes.
_ANSWER_ONCE_THE_LOOP_SLEEPS = r"""
def answer_once_the_loop_sleeps():
    while True:
        text = os.pread(stat, 512, 0)
        # The state follows the command name, which may itself hold ")".
        if text[text.rindex(b")") + 2] == ord("S"):
            break
    os.write(answers, b".")
"""

_SPINNING_ANSWERER = (
    r"""
import mmap, os, sys

requests = mmap.mmap(int(sys.argv[1]), 1)
answers = int(sys.argv[2])
stat = os.open(sys.argv[3], os.O_RDONLY)
parent = os.getppid()
"""
    + _ANSWER_ONCE_THE_LOOP_SLEEPS
    + r"""
seen = requests[0]
os.write(answers, b"r")  # only now: a request made from here on differs from seen
idle_spins = 0
while True:
    current = requests[0]
    if current == seen:
        idle_spins += 1
        # A parent killed mid-sample never says STOP: do not spin on forever.
        if idle_spins % 100_000 == 0 and os.getppid() != parent:
            break
        continue
    if current == STOP:
        break
    seen = current
    answer_once_the_loop_sleeps()
""".replace("STOP", str(STOP))
)

_PARKED_ANSWERER = (
    r"""
import os, sys

requests = int(sys.argv[1])
answers = int(sys.argv[2])
stat = os.open(sys.argv[3], os.O_RDONLY)
"""
    + _ANSWER_ONCE_THE_LOOP_SLEEPS
    + r"""
os.write(answers, b"r")
# Blocked between requests; the pipe's end (closed by the parent, or with
# it when it dies) is the stop.
while os.read(requests, 1):
    answer_once_the_loop_sleeps()
"""
)


def thread_stat_path(native_id: int) -> str | None:
    """Where the kernel reports the state of this process's thread; None off Linux."""
    path = f"/proc/{os.getpid()}/task/{native_id}/stat"
    return path if os.path.exists(path) else None


class _SharedByte:
    """Requests as a byte the spinning answerer watches: sending one wakes nobody."""

    answerer = _SPINNING_ANSWERER

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()
        self._file.truncate(1)
        self._byte = mmap.mmap(self._file.fileno(), 1)
        self.answerers_end = self._file.fileno()
        self._sequence = 0

    def send(self) -> None:
        # 1..254 in turn: each request differs from the one before it.
        self._sequence = self._sequence % (STOP - 1) + 1
        self._byte[0] = self._sequence

    def answerer_started(self) -> None:
        pass

    def stop(self) -> None:
        self._byte[0] = STOP

    def close(self) -> None:
        self._byte.close()
        self._file.close()


class _Pipe:
    """Requests through a pipe the parked answerer blocks on: sending one wakes it."""

    answerer = _PARKED_ANSWERER

    def __init__(self) -> None:
        self.answerers_end, self._write_end = os.pipe()

    def send(self) -> None:
        os.write(self._write_end, b".")

    def answerer_started(self) -> None:
        os.close(self.answerers_end)

    def stop(self) -> None:
        if self._write_end >= 0:
            os.close(self._write_end)
            self._write_end = -1

    def close(self) -> None:
        self.stop()


class WakeFloor:
    """Answers, from another process, each call the loop on this thread makes.

    Start it on the thread whose loop will call it; ``await floor.call()``
    is one round trip. Use as a context manager: the answering process runs
    from ``__enter__`` to ``__exit__``, spinning a whole core unless
    ``parked``.
    """

    def __init__(self, parked: bool = False) -> None:
        stat_path = thread_stat_path(threading.get_native_id())
        if stat_path is None:
            raise OSError("no /proc/<pid>/task/<tid>/stat to read a thread's state from")
        self._stat_path = stat_path
        self._requests = _Pipe() if parked else _SharedByte()
        self._answers, self._answers_from_child = os.pipe()
        self._child: subprocess.Popen[bytes] | None = None
        self._pending: asyncio.Future[None] | None = None

    def __enter__(self) -> WakeFloor:
        descriptors = (self._requests.answerers_end, self._answers_from_child)
        self._child = subprocess.Popen(
            [sys.executable, "-c", self._requests.answerer, *map(str, descriptors), self._stat_path],
            pass_fds=descriptors,
        )
        self._requests.answerer_started()
        os.close(self._answers_from_child)
        if os.read(self._answers, 1) != b"r":
            self.__exit__()
            raise RuntimeError("the answering process did not start")
        return self

    def __exit__(self, *_: Any) -> None:
        self._requests.stop()
        if self._child is not None:
            try:
                self._child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait()
        self._requests.close()
        os.close(self._answers)

    def attach(self, loop: asyncio.AbstractEventLoop) -> Callable[[], object]:
        """Watch for answers on ``loop``; returns what detaches it again."""
        loop.add_reader(self._answers, self._on_answer)
        return lambda: loop.remove_reader(self._answers)

    async def call(self) -> None:
        """One round trip: a request, the loop asleep, its wake-up by the answer."""
        self._pending = asyncio.get_running_loop().create_future()
        self._requests.send()
        await self._pending

    def _on_answer(self) -> None:
        os.read(self._answers, 1)
        assert self._pending is not None, "an answer came with no call waiting"
        self._pending.set_result(None)
