"""Shared, per-worker resources for ``initial_ctx`` (database clients, models, ...)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from crystallize.utils.context import FrozenContext

# Live resources of this process, keyed by factory key. Never pickled.
_CACHE: dict[str, Any] = {}
_LOCK = threading.Lock()


class ResourceFactory:
    """Picklable wrapper that creates a resource once per worker process and caches it.

    Reading the context key holding the factory returns the live resource; the factory
    function itself only travels between processes by reference, so the resource (a
    socket, a connection, a model) never has to be pickled.
    """

    __slots__ = ("fn", "key")

    def __init__(self, fn: Callable[[FrozenContext], Any], key: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"resource_factory needs a callable fn(ctx), got {fn!r}")
        self.fn = fn
        # The default key is fixed here, in the driver, and travels with the pickle.
        name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"
        self.key = key or f"{name}#{id(self):x}"

    def get(self, ctx: FrozenContext) -> Any:
        """Return this process's resource, creating it on first use."""
        cache_key = (os.getpid(), self.key)
        try:
            return _CACHE[cache_key]
        except KeyError:
            pass
        with _LOCK:
            if cache_key not in _CACHE:
                _CACHE[cache_key] = self.fn(ctx)
            return _CACHE[cache_key]

    _crystallize_resolve = get

    def __getstate__(self) -> tuple[Any, str]:
        return (self.fn, self.key)

    def __setstate__(self, state: tuple[Any, str]) -> None:
        self.fn, self.key = state

    def __repr__(self) -> str:
        return f"resource_factory({getattr(self.fn, '__name__', self.fn)!r}, key={self.key!r})"


def resource_factory(fn: Callable[[FrozenContext], Any], key: str | None = None) -> ResourceFactory:
    """Wrap ``fn(ctx) -> resource`` for ``initial_ctx``.

    The factory runs at most once per worker process (once in total for serial runs);
    steps read the live resource with ``ctx["name"]``. ``key`` names the cache entry and
    defaults to the function's qualified name.
    """
    return ResourceFactory(fn, key)


__all__ = ["ResourceFactory", "resource_factory"]
