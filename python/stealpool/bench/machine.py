"""Where and when a report was made: enough to tell two reports apart."""

from __future__ import annotations

import datetime
import os
import platform
from typing import Dict, Optional


def _version_of(distribution: str) -> Optional[str]:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:
        return None
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _cpu_model() -> Optional[str]:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _load_average() -> Optional[float]:
    # A busy machine skews every number; the reader should know it was busy.
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def describe_machine() -> Dict[str, object]:
    import stealpool

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": _load_average(),
        "versions": {
            "stealpool": stealpool.__version__,
            "uvloop": _version_of("uvloop"),
            "anyio": _version_of("anyio"),
            "hypertile": _version_of("hypertile"),
        },
    }
