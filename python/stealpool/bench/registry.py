"""Workloads by their --only name, in the order a full run reports them."""

from __future__ import annotations

from typing import Callable, Dict, List

from .anyio_workloads import run_anyio_burst, run_anyio_roundtrip
from .async_workloads import run_burst, run_floor, run_roundtrip
from .backpressure import run_backpressure
from .context import BenchContext
from .hashing import run_grain, run_sha256
from .memory import run_memory
from .nested_fib import run_nested_fib
from .pool_workloads import run_gil_stall, run_map, run_sleep_fanout, run_submit
from .results import Row
from .web_workload import run_web

Workload = Callable[[BenchContext], List[Row]]

WORKLOADS: Dict[str, Workload] = {
    "roundtrip": run_roundtrip,
    "burst": run_burst,
    "anyio_roundtrip": run_anyio_roundtrip,
    "anyio_burst": run_anyio_burst,
    "submit": run_submit,
    "map": run_map,
    "sha256": run_sha256,
    "grain": run_grain,
    "sleep_fanout": run_sleep_fanout,
    "gil_stall": run_gil_stall,
    "memory": run_memory,
    "floor": run_floor,
    "web": run_web,
    "nested_fib": run_nested_fib,
    "backpressure": run_backpressure,
}
