"""A cache for a container's lazily built singletons that builds each one once, even when
several threads ask for it first at the same moment.

functools.cache does not lock: two threads that miss together both build the value (a
message's parallel sends both asked for the Jinja environment and the SES client first),
and one of the two is thrown away. Here the first builds while the others wait for it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class LockedCache(Generic[P, R]):
    def __init__(self, function: Callable[P, R]) -> None:
        self._cached: Any = functools.cache(function)
        self._lock = threading.Lock()
        functools.update_wrapper(self, function)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return self._cached(*args, **kwargs)  # type: ignore[no-any-return]

    def cache_clear(self) -> None:
        with self._lock:
            self._cached.cache_clear()


def locked_cache(function: Callable[P, R]) -> LockedCache[P, R]:
    return LockedCache(function)
