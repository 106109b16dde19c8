"""Running a snippet in a fresh interpreter: for exit, fork and hang checks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence

import pytest

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is not available on this platform")


def run_python(
    code: str, timeout: float = 60, flags: Sequence[str] = (), argv: Sequence[str] = ()
) -> subprocess.CompletedProcess:
    """Runs ``code`` with ``flags`` for the interpreter (``-W ...``) and ``argv`` for the script."""
    return subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(code), *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
