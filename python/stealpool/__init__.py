"""stealpool: asyncio's default executor on a Rust work-stealing thread pool.

``ThreadPoolExecutor`` is a drop-in for ``concurrent.futures.ThreadPoolExecutor``;
``install()`` makes stealpool the running loop's default executor, so
``asyncio.to_thread`` and ``loop.run_in_executor(None, ...)`` run on it.
"""

from ._asyncio import install, loop_factory, run, shared_pool
from ._core import PanicException
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


def __getattr__(name: str) -> str:
    # __version__ comes from the installed metadata (the version lives in
    # Cargo.toml only), read on first use: importlib.metadata is slow to import.
    if name == "__version__":
        from importlib.metadata import version

        return version("stealpool")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
