"""``install(**pool_kwargs)`` on a loop that already has a stealpool executor.

install() keeps the executor a loop already has (replacing it would leave
work in flight on a pool nobody shuts down with the loop, and would let
whichever library called install() last decide for everyone). Pool
arguments that executor does not match are refused instead of ignored: an
app that asks for ``max_workers=40`` after something installed the
6-worker default must learn that it did not get it.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from ._executor import ThreadPoolExecutor, check_pool_arguments, default_max_workers


def _max_workers(executor: ThreadPoolExecutor, wanted: Any) -> tuple[Any, Any]:
    return executor._max_workers, default_max_workers() if wanted is None else wanted


def _thread_name_prefix(executor: ThreadPoolExecutor, wanted: Any) -> tuple[Any, Any]:
    prefix = executor._thread_name_prefix
    if not wanted and prefix.startswith("ThreadPoolExecutor-"):
        return prefix, prefix  # the stdlib's default naming, as asked
    return prefix, wanted


def _max_queued(executor: ThreadPoolExecutor, wanted: Any) -> tuple[Any, Any]:
    room = executor._room
    return (None if room is None else room.max_queued), wanted


def _as_call_arguments(initargs: Any) -> Any:
    # The stdlib takes any object and unpacks it only to call the
    # initializer: a list and a tuple of the same items ask for the same call.
    return tuple(initargs) if isinstance(initargs, (list, tuple)) else initargs


# Per argument: (what the executor has, what the argument asks for), comparable with ==.
_HAS_AND_WANTED: dict[str, Callable[[ThreadPoolExecutor, Any], tuple[Any, Any]]] = {
    "max_workers": _max_workers,
    "thread_name_prefix": _thread_name_prefix,
    "initializer": lambda executor, wanted: (executor._initializer, wanted),
    "initargs": lambda executor, wanted: (_as_call_arguments(executor._initargs), _as_call_arguments(wanted)),
    "idle_timeout": lambda executor, wanted: (executor._idle_timeout, wanted),
    "max_queued": _max_queued,
}


def refuse_other_pool_arguments(executor: ThreadPoolExecutor, pool_kwargs: dict[str, Any]) -> None:
    """Raises unless ``executor`` already is what ``pool_kwargs`` ask for.

    Arguments the constructor refuses raise its own error, word for word;
    arguments that differ from the executor's raise ``RuntimeError`` naming
    each of them.
    """
    if not pool_kwargs:
        return
    try:
        arguments = inspect.signature(ThreadPoolExecutor.__init__).bind(executor, **pool_kwargs)
    except TypeError:
        # The same call fails the constructor's own binding the same way,
        # before its body runs (a throwaway instance all the same): its
        # message names the function, and bind()'s does not.
        ThreadPoolExecutor.__init__(ThreadPoolExecutor.__new__(ThreadPoolExecutor), **pool_kwargs)
        raise
    arguments.apply_defaults()
    given = arguments.arguments
    check_pool_arguments(given["max_workers"], given["initializer"], given["idle_timeout"], given["max_queued"])
    differences = []
    for name, wanted in pool_kwargs.items():
        has, asked = _HAS_AND_WANTED[name](executor, wanted)
        if not (has is asked or has == asked):
            differences.append(f"{name}={asked!r} (it has {has!r})")
    if differences:
        raise RuntimeError(
            "this loop already has a stealpool default executor, which install() keeps; "
            f"it does not match {', '.join(differences)}. Call install() with these "
            "arguments before anything else installs on this loop, or shut the current "
            "executor down and pass a new stealpool.ThreadPoolExecutor to "
            "loop.set_default_executor()."
        )


__all__ = ["refuse_other_pool_arguments"]
