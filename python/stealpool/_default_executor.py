"""Which executor a loop runs ``run_in_executor(None, ...)`` on.

Shared by ``_asyncio`` and ``_anyio`` from a module of its own, so that
``_asyncio`` can import ``_anyio`` with the package instead of inside
``install()``: an import that one thread starts while another forks leaves
that module's import lock held in the child, whose own import of it then
waits forever.
"""

from __future__ import annotations

import asyncio
from typing import Any


def default_executor_of(loop: asyncio.AbstractEventLoop) -> Any:
    """The loop's default executor: asyncio's attribute, else the one install() set."""
    try:
        return loop._default_executor  # type: ignore[attr-defined]
    except AttributeError:
        return getattr(loop, "_stealpool_executor", None)


def record_default_executor(loop: asyncio.AbstractEventLoop) -> None:
    """uvloop keeps its default executor where Python cannot read it: note
    each one set, as ``loop._stealpool_executor``."""
    if hasattr(loop, "_default_executor") or hasattr(loop, "_stealpool_executor"):
        return
    loop_set_default_executor = loop.set_default_executor

    def set_default_executor(executor: Any) -> None:
        loop_set_default_executor(executor)
        loop._stealpool_executor = executor  # type: ignore[attr-defined]

    set_default_executor.__doc__ = loop_set_default_executor.__doc__
    loop.set_default_executor = set_default_executor  # type: ignore[method-assign]
