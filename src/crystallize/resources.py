"""Shared, per-worker resources for ``initial_ctx`` (database clients, models, ...)."""

from __future__ import annotations

import functools
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from crystallize.exceptions import CrystallizeError
from crystallize.utils.context import FrozenContext
from crystallize.utils.user_exceptions import add_note_safely, contextmanager

CacheKey = tuple[int, str, str]
"""``(pid, key, token)``: one resource of one process."""

# Live resources of this process, keyed by factory key. Never pickled.
_CACHE: dict[CacheKey, Any] = {}
# Guards the dicts of this module; never held while a factory runs. Re-entrant: the
# garbage collector may run _release (a factory's finalizer) in a thread holding it.
_LOCK = threading.RLock()
# One lock per resource, held while its factory runs: it is created once, and a slow
# factory holds up only the readers of its own resource.
_KEY_LOCKS: dict[CacheKey, threading.Lock] = {}
# The resources each thread is creating (outermost first) and the one it waits for:
# what tells a factory needing its own resource from one waiting for another thread.
_CREATING: dict[int, list[ResourceFactory]] = {}
_WAITING: dict[int, ResourceFactory] = {}
# How many live factory objects (the original and its copies) share each token.
_HOLDERS: dict[str, int] = {}
# The code digest of the factory that made each live resource: a keyed resource outlives
# its factory, and a factory of the same key with other code gets that resource.
_MADE_BY: dict[CacheKey, str] = {}
# (key, code) pairs already warned about (see ResourceFactory._crystallize_spec).
_WARNED: set[tuple[str, str]] = set()


class ResourceCycleError(CrystallizeError, RuntimeError):
    """A resource factory needs, directly or through other factories, its own resource."""


def _release(token: str) -> None:
    """One holder of ``token`` is gone; with the last, drop the resources it made."""
    with _LOCK:
        left = _HOLDERS.get(token, 1) - 1
        if left > 0:
            _HOLDERS[token] = left
            return
        _HOLDERS.pop(token, None)
        for held in (_CACHE, _KEY_LOCKS, _MADE_BY):  # snapshots: a nested _release may change them
            for cache_key in [k for k in list(held) if k[2] == token]:
                del held[cache_key]


class ResourceFactory:
    """Picklable wrapper that creates a resource once per worker process and caches it.

    Reading the context key holding the factory returns the live resource; the factory
    function itself only travels between processes by reference, so the resource (a
    socket, a connection, a model) never has to be pickled.
    """

    __slots__ = ("fn", "key", "_token", "__weakref__")

    def __init__(self, fn: Callable[[FrozenContext], Any], key: str | None = None) -> None:
        _check_factory(fn)
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
        """Return this process's resource, creating it on first use.

        A factory may read other resources from ``ctx``. Threads reading the resource
        while its factory runs wait for it (it is still created once); readers of other
        resources do not.

        Raises:
            ResourceCycleError: the factory needs, directly or through other factories,
                the resource it is creating.
        """
        cache_key = self._cache_key()
        try:
            return _CACHE[cache_key]
        except KeyError:
            pass
        with self._turn():
            if cache_key not in _CACHE:
                try:
                    resource = self._create(ctx)
                except Exception as exc:
                    add_note_safely(exc, self._failure_note(ctx))
                    raise
                made_by = factory_digest(self.fn)
                with _LOCK:
                    _CACHE[cache_key] = resource
                    _MADE_BY[cache_key] = made_by
            return _CACHE[cache_key]

    def _cache_key(self) -> CacheKey:
        return (os.getpid(), self.key, self._token)

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """Hold this resource's lock, recorded as being created by this thread."""
        me = threading.get_ident()
        with _LOCK:
            cycle = _cycle(self, me)
            if cycle:
                raise _cycle_error(cycle)
            key_lock = _KEY_LOCKS.setdefault(self._cache_key(), threading.Lock())
            _WAITING[me] = self
        try:
            key_lock.acquire()
        finally:
            with _LOCK:
                del _WAITING[me]
        with _LOCK:
            _CREATING.setdefault(me, []).append(self)
        try:
            yield
        finally:
            with _LOCK:
                stack = _CREATING[me]
                stack.pop()
                if not stack:
                    del _CREATING[me]
            key_lock.release()

    def _create(self, ctx: FrozenContext) -> Any:
        """Run the factory with Python's ``random`` and NumPy's global generator seeded
        from the key, then put their states back: every process builds the same resource
        (a model's random initial weights), and the replicate that happened to create it
        draws the numbers it would have drawn without it."""
        from crystallize.plugins.execution.rng_isolation import PreservedRngState
        from crystallize.plugins.seed import default_seed_fn, mixed_seed

        with PreservedRngState():
            default_seed_fn(mixed_seed(0, self.key))
            return self.fn(ctx)

    def _failure_note(self, ctx: FrozenContext) -> str:
        """The note added to an exception the factory raised: which context key's
        resource it was building, and that the step or datasource reading it is not at
        fault (the replicate's error names that reader)."""
        data = getattr(ctx, "_data", None)
        keys = [key for key, value in data.items() if value is self] if isinstance(data, dict) else []
        if not keys and isinstance(data, dict):  # a copy of this factory (same resource)
            keys = [
                key
                for key, value in data.items()
                if isinstance(value, ResourceFactory) and value._cache_key() == self._cache_key()
            ]
        where = f"context key {', '.join(map(repr, keys))}" if keys else "a context key"
        return (
            f"{_NOTE_START}{_function_name(self.fn)!r} building the resource "
            f"of {where} ({self!r}), when a step or the datasource first read it: the factory "
            "failed, not the code reading the resource)"
        )

    _crystallize_resolve = get

    def _crystallize_spec(self) -> dict[str, Any]:
        """What the experiment fingerprint (and the cache key of a step reading the
        resource) records: the key and the code of the factory that made the live
        resource — this one's, unless a factory of the same key with other code made the
        resource this process holds (a re-run notebook cell), which steps then read (with
        a warning, once) — not the per-object token (so a new process can resume the run).
        The code of a callable object (``Loader(size=1)``) covers its attributes too, see
        :func:`factory_digest`."""
        code = factory_digest(self.fn)
        made_by = _MADE_BY.get(self._cache_key())
        if made_by is not None and made_by != code:
            if (self.key, code) not in _WARNED:
                _WARNED.add((self.key, code))
                import warnings

                from crystallize.utils.callers import user_stacklevel

                warnings.warn(
                    f"resource_factory key {self.key!r}: this process already holds the resource "
                    "a factory of that key with other code made, and steps read that resource, "
                    "not one this factory would make, until the process ends. Give this factory "
                    "another key (or none), or restart the process, to use it.",
                    UserWarning,
                    stacklevel=user_stacklevel(),
                )
            code = made_by
        return {"resource_factory": self.key, "code": code}

    def __getstate__(self) -> tuple[Any, str, str]:
        return (_portable(self.fn), self.key, self._token)

    def __setstate__(self, state: tuple[Any, str, str]) -> None:
        fn, self.key, self._token = state
        self.fn = fn.load() if isinstance(fn, _PickledByValue) else fn
        self._release_with_me()

    def __repr__(self) -> str:
        return f"resource_factory({getattr(self.fn, '__name__', self.fn)!r}, key={self.key!r})"


_NOTE_START = "(raised in the resource factory "


def factory_failure_note(exc: BaseException) -> str:
    """The note naming the resource factory (and the context key of its resource) that
    raised ``exc`` while building a resource, or ``""`` when no factory did: for a
    failure report, whose step is the one that read the resource. With nested factories,
    the one that raised (the innermost)."""
    notes = getattr(exc, "__notes__", None)
    for note in notes if isinstance(notes, list | tuple) else ():  # a user's own __notes__ may be anything
        if isinstance(note, str) and note.startswith(_NOTE_START):
            return note
    return ""


def _check_factory(fn: object) -> None:
    """Raise TypeError unless ``fn`` looks like a function ``fn(ctx)`` building a resource.

    Refused: what is not callable; a callable object of a class written in C whose
    signature cannot be read and that can be closed (a ``sqlite3.Connection``: the
    resource itself passed instead of a function building it); a function that cannot be
    called with the context as its one positional argument. Other callables whose
    signature cannot be read (builtin functions, ``operator.itemgetter("path")``) are
    accepted: calling them tells.
    """
    if not callable(fn) or _looks_like_a_resource(fn):
        raise TypeError(_not_a_factory(fn))
    from crystallize.utils.signatures import check_callable

    check_callable(
        fn,
        ("ctx",),
        what="resource_factory function",
        call="fn(ctx) with the replicate's context, to build the resource",
        example="resource_factory(lambda ctx: sqlite3.connect('data.db'))",
    )


def _looks_like_a_resource(fn: object) -> bool:
    """Whether the callable ``fn`` looks like a resource rather than a function making
    one: an object (no function, class or partial) whose signature cannot be read, as
    for C classes, with a ``close`` method or a ``with`` block (a ``sqlite3.Connection``
    is callable). ``operator.itemgetter(...)`` and the like have neither."""
    import inspect

    if inspect.isroutine(fn) or inspect.isclass(fn) or isinstance(fn, functools.partial):
        return False
    try:
        inspect.signature(fn)
        return False
    except (TypeError, ValueError):
        pass
    kind = type(fn)
    return callable(getattr(kind, "close", None)) or hasattr(kind, "__exit__")


def _not_a_factory(fn: object) -> str:
    """The error for a ``resource_factory`` argument that is no function building a resource."""
    kind = type(fn)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return (
        "resource_factory takes a function that builds the resource, called with the context "
        f"(lambda ctx: sqlite3.connect(...)), got {'an' if name[0].lower() in 'aeiou' else 'a'} "
        f"{name} ({fn!r}). Pass the function that "
        "creates it, not the resource itself: each worker process builds its own with it."
    )


def _function_name(fn: object) -> str:
    """A factory function's qualified name, else its class name (a callable object)."""
    from crystallize.utils.importing import base_function

    base = base_function(fn)
    return getattr(base, "__qualname__", None) or type(base).__qualname__


def factory_digest(fn: Callable[[FrozenContext], Any]) -> str:
    """The digest naming what a resource factory function makes: its code (see
    :func:`~crystallize.code_digest.code_hash`) and, for a callable object (an instance
    with ``__call__``, or a bound method), the object's attributes too, digested as a
    step parameter is (``Loader(1)`` and ``Loader(100)`` differ). An object whose
    attributes cannot be digested gets a digest of its own (``unhashable:...``), which a
    step reading its resource cannot be cached under."""
    import inspect

    from crystallize.fingerprint import UNHASHABLE_STATE, code_hash, param_digest

    code = code_hash(fn)
    holder = fn.__self__ if inspect.ismethod(fn) else fn
    if (
        inspect.isfunction(holder)
        or inspect.isclass(holder)
        or inspect.ismodule(holder)
        or inspect.isbuiltin(holder)
        or isinstance(holder, functools.partial)  # code_hash covers its arguments
    ):
        return code
    state = param_digest(holder)
    if state is None:
        return f"{UNHASHABLE_STATE}:{code}:{id(holder):x}"
    return f"{code}:{state[:16]}"


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


def _creator(cache_key: CacheKey) -> int | None:
    """The thread creating the resource of ``cache_key``, if any (``_LOCK`` held)."""
    for thread, stack in _CREATING.items():
        if any(factory._cache_key() == cache_key for factory in stack):
            return thread
    return None


def _cycle(wanted: ResourceFactory, me: int) -> list[ResourceFactory]:
    """The factories of the cycle thread ``me`` would close by waiting for ``wanted``'s
    resource, first and last ``wanted`` (``[]`` when there is none; ``_LOCK`` held).

    Follows who creates the resource, what that thread creates on top of it and the
    resource it waits for, until the chain ends (no cycle) or comes back to ``me``.
    """
    chain, factory, seen = [wanted], wanted, set()
    while True:
        thread = _creator(factory._cache_key())
        if thread is None or thread in seen:
            return []
        seen.add(thread)
        stack = _CREATING[thread]
        keys = [f._cache_key() for f in stack]
        chain += stack[keys.index(factory._cache_key()) + 1 :]
        if thread == me:
            return [*chain, wanted]
        factory = _WAITING.get(thread)
        if factory is None:
            return []
        chain.append(factory)


def _cycle_error(cycle: list[ResourceFactory]) -> ResourceCycleError:
    """The error naming the factories of ``cycle``."""
    path = " -> ".join(_factory_name(factory) for factory in cycle)
    return ResourceCycleError(
        f"The resource factory {_factory_name(cycle[0])!r} needs its own resource ({path}). "
        "A resource factory may read other resources from ctx, but not, directly or "
        "through other factories, the one it creates: build the shared part in its own "
        "factory and have both read it."
    )


def _factory_name(factory: ResourceFactory) -> str:
    """The key given to ``resource_factory``, else the function's name."""
    if not factory._token:
        return factory.key
    return getattr(factory.fn, "__qualname__", factory.key)


def resource_factory(fn: Callable[[FrozenContext], Any], key: str | None = None) -> ResourceFactory:
    """Wrap ``fn(ctx) -> resource`` for ``initial_ctx``.

    ``fn`` is checked here: it must be callable with the context as its one positional
    argument (defaults and ``*args`` are fine; a callable whose signature cannot be read,
    a builtin or ``operator.itemgetter(...)``, is accepted), and not the resource itself
    (a ``sqlite3.Connection`` is callable, but is no function building one): either
    raises TypeError. An exception ``fn`` raises
    when the resource is first read carries a note naming the context key and ``fn``.

    The factory runs at most once per worker process (once in total for serial runs);
    steps read the live resource with ``ctx["name"]``. Threads of one process share it, so
    under thread execution it must be safe to use from several threads (for SQLite:
    ``sqlite3.connect(path, check_same_thread=False)``). ``key`` names the cache entry:
    factories given the same key share one resource per process; without a key, each
    factory has its own (its ``key`` attribute is then the function's qualified name),
    dropped once the factory and its copies are garbage-collected.
    """
    return ResourceFactory(fn, key)


__all__ = ["ResourceCycleError", "ResourceFactory", "factory_failure_note", "resource_factory"]
