"""Shared, per-worker resources for ``initial_ctx`` (database clients, models, ...)."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

from crystallize.utils.context import FrozenContext

# Live resources of this process, keyed by factory key. Never pickled.
_CACHE: dict[tuple[int, str, str], Any] = {}
_LOCK = threading.Lock()
# How many live factory objects (the original and its copies) share each token.
_HOLDERS: dict[str, int] = {}


def _release(token: str) -> None:
    """One holder of ``token`` is gone; with the last, drop the resources it made."""
    with _LOCK:
        left = _HOLDERS.get(token, 1) - 1
        if left > 0:
            _HOLDERS[token] = left
            return
        _HOLDERS.pop(token, None)
        for cache_key in [k for k in _CACHE if k[2] == token]:
            del _CACHE[cache_key]


class ResourceFactory:
    """Picklable wrapper that creates a resource once per worker process and caches it.

    Reading the context key holding the factory returns the live resource; the factory
    function itself only travels between processes by reference, so the resource (a
    socket, a connection, a model) never has to be pickled.
    """

    __slots__ = ("fn", "key", "_token", "__weakref__")

    def __init__(self, fn: Callable[[FrozenContext], Any], key: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"resource_factory needs a callable fn(ctx), got {fn!r}")
        self.fn = fn
        self.key = key or f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"
        # Without a key, each factory has its own resource, even one of another lambda
        # with the same qualified name. The token is drawn here, in the driver, and travels
        # with the pickle, so every replicate in a worker shares the worker's one resource.
        self._token = "" if key else os.urandom(8).hex()
        self._release_with_me()

    def _release_with_me(self) -> None:
        """Drop this process's resource when the last factory holding its token goes: a
        notebook re-running a cell must not keep every earlier model or connection."""
        if self._token:
            _HOLDERS[self._token] = _HOLDERS.get(self._token, 0) + 1
            weakref.finalize(self, _release, self._token)

    def get(self, ctx: FrozenContext) -> Any:
        """Return this process's resource, creating it on first use."""
        cache_key = (os.getpid(), self.key, self._token)
        try:
            return _CACHE[cache_key]
        except KeyError:
            pass
        with _LOCK:
            if cache_key not in _CACHE:
                _CACHE[cache_key] = self._create(ctx)
            return _CACHE[cache_key]

    def _create(self, ctx: FrozenContext) -> Any:
        """Run the factory with Python's ``random`` and NumPy's global generator seeded
        from the key, then put their states back: every process builds the same resource
        (a model's random initial weights), and the replicate that happened to create it
        draws the numbers it would have drawn without it."""
        from crystallize.plugins.execution.rng_isolation import PreservedRngState
        from crystallize.plugins.seed import default_seed_fn, mixed_seed

        with PreservedRngState():
            default_seed_fn(mixed_seed(0, self.key))
            try:
                return self.fn(ctx)
            except Exception as exc:
                exc.add_note(
                    f"(raised by the resource factory {self!r} creating its resource, when a "
                    "step or the datasource first read it)"
                )
                raise

    _crystallize_resolve = get

    def _crystallize_spec(self) -> dict[str, Any]:
        """What the experiment fingerprint records: the key and the factory's code, not
        the per-object token (so a new process can resume the run)."""
        from crystallize.fingerprint import code_hash

        return {"resource_factory": self.key, "code": code_hash(self.fn)}

    def __getstate__(self) -> tuple[Any, str, str]:
        return (_portable(self.fn), self.key, self._token)

    def __setstate__(self, state: tuple[Any, str, str]) -> None:
        fn, self.key, self._token = state
        self.fn = fn.load() if isinstance(fn, _PickledByValue) else fn
        self._release_with_me()

    def __repr__(self) -> str:
        return f"resource_factory({getattr(self.fn, '__name__', self.fn)!r}, key={self.key!r})"


class _PickledByValue:
    """A factory function that cannot be pickled by reference (a lambda, a function
    defined inside another), carried by value: its code and what it captures."""

    __slots__ = ("blob",)

    def __init__(self, fn: Callable[[FrozenContext], Any]) -> None:
        import cloudpickle

        self.blob = cloudpickle.dumps(fn)

    def __getstate__(self) -> bytes:
        return self.blob

    def __setstate__(self, blob: bytes) -> None:
        self.blob = blob

    def load(self) -> Callable[[FrozenContext], Any]:
        """The function again (``cloudpickle`` writes plain pickles that load anywhere
        it is installed)."""
        import pickle

        return pickle.loads(self.blob)


def _portable(fn: Callable[[FrozenContext], Any]) -> Any:
    """``fn`` itself when pickle can send it by reference (a module-level function, the
    usual case), else ``fn`` by value: wrapping any factory in ``resource_factory`` is
    enough for process and Ray execution."""
    import pickle

    try:
        pickle.dumps(fn)
    except (pickle.PicklingError, AttributeError, TypeError):
        return _PickledByValue(fn)
    return fn


def resource_factory(fn: Callable[[FrozenContext], Any], key: str | None = None) -> ResourceFactory:
    """Wrap ``fn(ctx) -> resource`` for ``initial_ctx``.

    The factory runs at most once per worker process (once in total for serial runs);
    steps read the live resource with ``ctx["name"]``. Threads of one process share it, so
    under thread execution it must be safe to use from several threads (for SQLite:
    ``sqlite3.connect(path, check_same_thread=False)``). ``key`` names the cache entry:
    factories given the same key share one resource per process; without a key, each
    factory has its own (its ``key`` attribute is then the function's qualified name),
    dropped once the factory and its copies are garbage-collected.
    """
    return ResourceFactory(fn, key)


__all__ = ["ResourceFactory", "resource_factory"]
