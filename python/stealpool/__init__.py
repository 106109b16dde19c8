"""stealpool: asyncio's default executor on a Rust work-stealing thread pool.

``ThreadPoolExecutor`` is a drop-in for ``concurrent.futures.ThreadPoolExecutor``;
``install()`` makes stealpool the running loop's default executor, so
``asyncio.to_thread`` and ``loop.run_in_executor(None, ...)`` run on it.
"""

from ._asyncio import install, loop_factory, run, shared_pool
from ._core import PanicException
from ._executor import ThreadPoolExecutor
from ._to_thread import to_thread

# PyO3 makes this class (pyo3_runtime.PanicException) with a docstring about
# the interpreter exiting, which is not what happens here. Each extension
# module links its own PyO3 and so has its own copy of the class, a heap type
# whose __doc__ can be set: this changes no other library's PanicException.
PanicException.__doc__ = """A Rust panic inside a stealpool task (a bug in stealpool, not in your code).

It is set on the future of the task that panicked (``future.result()``
raises it, with the panic's message) and nowhere else: the pool keeps
running later tasks. It derives from ``BaseException``, so ``except
Exception`` does not catch it.
"""

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
