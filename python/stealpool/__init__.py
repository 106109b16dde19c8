"""stealpool: asyncio's default executor on a Rust work-stealing thread pool.

``ThreadPoolExecutor`` is a drop-in for ``concurrent.futures.ThreadPoolExecutor``;
``install()`` makes stealpool the running loop's default executor, so
``asyncio.to_thread`` and ``loop.run_in_executor(None, ...)`` run on it.
"""

from ._core import PanicException
from ._asyncio import install, loop_factory, run, shared_pool
from ._executor import ThreadPoolExecutor
from ._to_thread import to_thread

__all__ = [
    "PanicException",
    "ThreadPoolExecutor",
    "install",
    "loop_factory",
    "run",
    "shared_pool",
    "to_thread",
]
__version__ = "0.1.0"
