"""Running a snippet in a fresh interpreter: for exit, fork and hang checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from typing import IO

import pytest

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is not available on this platform")


def run_python(
    code: str, timeout: float = 60, flags: Sequence[str] = (), argv: Sequence[str] = ()
) -> subprocess.CompletedProcess:
    """Runs ``code`` with ``flags`` for the interpreter (``-W ...``) and ``argv`` for the script.

    The snippet runs in a process group of its own, killed whole once the
    snippet exits or ``timeout`` passes (``subprocess.TimeoutExpired``):
    a child it forked and left behind, hung or not, never outlives the test.
    Output goes to files, not pipes, so such a child holding them open
    cannot keep the test waiting either.
    """
    args = [sys.executable, *flags, "-c", textwrap.dedent(code), *argv]
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(args, stdout=stdout, stderr=stderr, text=True, start_new_session=True)
        try:
            returncode = process.wait(timeout)
        except subprocess.TimeoutExpired:
            kill_process_group(process)
            # With what it printed so far, as subprocess.run reports it.
            raise subprocess.TimeoutExpired(args, timeout, read_all(stdout), read_all(stderr)) from None
        finally:
            kill_process_group(process)
        return subprocess.CompletedProcess(args, returncode, read_all(stdout), read_all(stderr))


def read_all(file: IO[str]) -> str:
    file.seek(0)
    return file.read()


def kill_process_group(process: subprocess.Popen) -> None:
    """Kills ``process`` and whatever it forked, and reaps ``process``; idempotent."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # everyone in it has exited already
    process.wait()
