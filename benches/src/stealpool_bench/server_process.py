"""A web server in a child process, on 127.0.0.1 and a free port, for one sample.

Each sample gets a fresh server so that no peer inherits another's threads,
caches or connections; ``serving`` starts it, waits until it accepts
connections, and stops it however the sample ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

STARTUP_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_until_listening(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.02)
        else:
            writer.close()
            await writer.wait_closed()
            return


@contextlib.contextmanager
def serving(module: str, *args: str) -> Iterator[int]:
    """Runs ``python -m module PORT *args``; yields PORT once the server accepts connections."""
    port = free_port()
    # A file, not a pipe: a server that logs a lot under load must never block on a full pipe.
    with tempfile.TemporaryFile() as errors:
        server = subprocess.Popen(
            [sys.executable, "-m", module, str(port), *args], stdout=subprocess.DEVNULL, stderr=errors
        )
        try:
            try:
                asyncio.run(wait_until_listening(port, STARTUP_TIMEOUT_S))
            except OSError:
                server.kill()
                server.wait()
                errors.seek(0)
                said = errors.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"{module} {' '.join(args)} did not start: {said}") from None
            yield port
        finally:
            server.terminate()
            try:
                server.wait(STARTUP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
