"""The per-replicate context: an append-only mapping plus the replicate's metrics.

A :class:`FrozenContext` carries everything a datasource or step may read: treatment
values, ``"replicate"``, ``"condition"``, ``"seed_used"`` and shared resources. It only
grows — overwriting a key by accident raises :class:`ContextMutationError` — and
:meth:`FrozenContext.override` is the one deliberate way to replace a value.
"""

from __future__ import annotations

import sys
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from crystallize.exceptions import ContextMutationError, MissingContextKeyError

#: How many keys a missing-key message lists before it shortens the list.
_KEYS_SHOWN = 20


def _missing_key_message(key: object, keys: list[Any]) -> str:
    """Say that ``key`` is not in a context holding ``keys``, and what to do."""
    from crystallize.config.errors import did_you_mean

    names = sorted(str(k) for k in keys)
    hint = did_you_mean(key, names) if isinstance(key, str) else ""
    shown = ", ".join(names[:_KEYS_SHOWN]) or "none"
    if len(names) > _KEYS_SHOWN:
        shown += f", ... ({len(names) - _KEYS_SHOWN} more)"
    return (
        f"The context has no key {key!r}{hint or '.'} Available keys: {shown}. Add it with "
        f"initial_ctx or a treatment, or read it with ctx.get({key!r}, default)."
    )


_SHORT_REPR: Any = None  # the reprlib.Repr of short_repr, made on first use


def short_repr(value: Any) -> str:
    """``repr(value)`` shortened as :mod:`reprlib` does: long lists, strings and deep
    nesting cut with ``...`` (at most 10 items a level, 80 characters a string)."""
    global _SHORT_REPR
    if _SHORT_REPR is None:
        import reprlib

        short = reprlib.Repr()
        short.maxlevel = 3
        short.maxlist = short.maxtuple = short.maxset = short.maxfrozenset = short.maxdeque = 10
        short.maxdict = short.maxarray = 10
        short.maxstring = short.maxother = 80
        short.maxlong = 40
        _SHORT_REPR = short
    return _SHORT_REPR.repr(value)


_IMMUTABLE_SCALARS = frozenset({int, float, bool, str, bytes, complex, type(None)})


def _snapshot(value: Any) -> Any:
    """A copy of a recorded metric value that later mutation cannot reach (NumPy scalars,
    which cannot change, and values that cannot be copied are kept as they are)."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.generic):
        return value
    import copy  # on first use: ``import crystallize`` stays lean

    try:
        return copy.deepcopy(value)
    except Exception:  # not copyable: keep the object itself
        return value


def _check_metric_name(name: Any) -> None:
    """Refuse a metric name that is not a string (a ``str`` subclass passes), or is empty."""
    if not isinstance(name, str):
        raise TypeError(
            f"Metric names must be strings, got {name!r} ({type(name).__name__}). A step "
            "returning a pair (data, dict) has the dict read as {metric: value}; to return a "
            "dict as part of the data, return another container (a list, a named tuple)."
        )
    if not name:
        raise ValueError(
            "A metric name cannot be empty: it would be a column with no heading in every table "
            "and report. Name the metric (ctx.metrics.add('loss', value), or a step returning "
            "(data, {'loss': value}))."
        )


class ContextMetrics:
    """Metric values recorded during one replicate, in the order they were added."""

    __slots__ = ("_values", "_tags", "log")

    def __init__(self) -> None:
        self._values: dict[str, list[Any]] = {}
        self._tags: dict[str, list[dict[str, Any] | None]] | None = None
        #: Every ``(name, value)`` in the order recorded (per-step provenance slices it).
        self.log: list[tuple[str, Any]] = []

    def add(self, name: str, value: Any, tags: Mapping[str, Any] | None = None) -> None:
        """Append ``value`` to metric ``name`` (optionally with ``tags``, a mapping).

        A mutable value (a list, an array, ...) is copied, so later changes to the object
        do not rewrite what was recorded.

        Raises:
            TypeError: ``name`` is not a string.
            ValueError: ``name`` is the empty string (it would be a column with no heading).
        """
        if type(name) is not str or not name:  # one test on the hot path: a non-empty str
            _check_metric_name(name)
        if type(value) not in _IMMUTABLE_SCALARS:
            value = _snapshot(value)
        if tags is not None or self._tags is not None:
            self._add_tagged(name, value, tags)
            return
        values = self._values.get(name)
        if values is None:
            values = self._values[name] = []
        values.append(value)
        self.log.append((name, value))

    def _add_tagged(self, name: str, value: Any, tags: Mapping[str, Any] | None) -> None:
        """:meth:`add` once any value has tags: check ``tags`` first, then record both."""
        if tags is not None and not isinstance(tags, Mapping):
            raise TypeError(
                f"Metric {name!r}: tags must be a mapping such as {{'split': 'val'}} (or None), "
                f"got {tags!r} ({type(tags).__name__})"
            )
        values = self._values.setdefault(name, [])
        values.append(value)
        self.log.append((name, value))
        if self._tags is None:
            self._tags = {}
        tag_list = self._tags.get(name)
        if tag_list is None:  # the values before the first tagged one have none
            tag_list = self._tags[name] = [None] * (len(values) - 1)
        tag_list.append(dict(tags) if tags is not None else None)

    def __getitem__(self, name: str) -> list[Any]:
        return self._values[name]

    def __setitem__(self, name: str, value: Any) -> None:
        raise TypeError(
            f"ctx.metrics[{name!r}] = ... does not record a metric: use ctx.metrics.add({name!r}, value) "
            f"(or ctx.record({name!r}, value)), which appends the value for this replicate"
        )

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def get(self, name: str, default: Any = None) -> Any:
        """Return the values of ``name``, or ``default`` when it was never recorded."""
        return self._values.get(name, default)

    def keys(self) -> KeysView[str]:
        """The names of the metrics recorded so far (``dict(ctx.metrics)`` works)."""
        return self._values.keys()

    def values(self) -> ValuesView[list[Any]]:
        """Each metric's list of values, in :meth:`keys` order."""
        return self._values.values()

    def items(self) -> ItemsView[str, list[Any]]:
        """``(name, [values])`` pairs, as a dict's ``items()``."""
        return self._values.items()

    def as_dict(self) -> dict[str, list[Any]]:
        """Return ``{metric: [values]}`` (the lists are shared, do not mutate them)."""
        return self._values

    def all_tags(self) -> dict[str, list[dict[str, Any] | None]] | None:
        """Return ``{metric: [tags per value]}`` for every metric (metrics recorded before
        the first tagged value included), or ``None`` when no value had tags."""
        if self._tags is None:
            return None
        return {name: self.tags(name) for name in self._values}

    def tags(self, name: str) -> list[dict[str, Any] | None]:
        """Return the tags given with each value of ``name`` (``None`` where none were)."""
        if self._tags is None or name not in self._tags:
            return [None] * len(self._values.get(name, ()))
        tags = self._tags[name]
        return tags + [None] * (len(self._values[name]) - len(tags))

    def __repr__(self) -> str:
        return f"ContextMetrics({self._values!r})"


def refuse_metrics(ctx: FrozenContext, value: Any = None) -> None:
    """``ctx.metrics = ...`` / ``del ctx.metrics``: refused."""
    raise ContextMutationError(
        "Cannot replace or delete ctx.metrics: the context is frozen. Record values with "
        "ctx.record(name, value) or ctx.metrics.add(name, value)."
    )


#: Context keys the engine sets for every replicate; initial_ctx, treatments and steps
#: may not (a standalone context for testing a step by hand may).
ENGINE_KEYS = ("replicate", "condition", "seed_used")
ENGINE_KEYS_SET = frozenset(ENGINE_KEYS)
#: What to do instead of setting each engine key.
ENGINE_KEY_HINTS = {
    "replicate": "it is the replicate's index; store your value under another key",
    "condition": "it is the condition's name; store your value under another key",
    "seed_used": "choose seeds with SeedPlugin(seed=...) instead",
}


def _set_once(name: str, slot: str) -> property:
    """A property over ``slot`` that can be set while it is ``None`` (the engine sets it
    on a fresh context; so can a test on a standalone context), and never again."""

    def refuse(ctx: FrozenContext, value: Any = None) -> None:
        raise ContextMutationError(
            f"Cannot change ctx.{name}: it is set once per replicate (by the engine) and the "
            "context is frozen. Make a new context (standalone_context()) to use another."
        )

    def set_once(ctx: FrozenContext, value: Any) -> None:
        if getattr(ctx, slot) is not None:
            refuse(ctx)
        setattr(ctx, slot, value)

    return property(attrgetter(slot), set_once, refuse)


class FrozenContext:
    """Append-only key/value context handed to datasources and steps.

    ``ctx[key]`` reads a value (resources made by :func:`crystallize.resource_factory`
    are created on first access), ``ctx.add`` adds a new key, ``ctx.override`` replaces
    values on purpose, and ``ctx.metrics`` / ``ctx.record`` collect metrics.

    It is a read-only :class:`collections.abc.Mapping` (``items()``, ``values()``,
    ``dict(ctx)``, ``reversed(ctx)``), equal to any context or mapping with the same keys
    and values. Its attributes cannot be reassigned. Copies and pickles keep everything
    (values, metrics with tags, events, artifact location) except that a pickle drops
    the live event sink.
    """

    # The public attributes (metrics, artifact_location, ...) are properties over these
    # slots that refuse replacing them: a ``__setattr__`` guard would slow down building
    # a context (done for every condition x replicate).
    __slots__ = (
        "_data",
        "_metrics",
        "_events",
        "_location",
        "_written",
        "_sink",
        "_reads",  # used only while a ReadTrackingContext (see crystallize.utils.read_tracking)
        "_overridden",  # likewise
        "__weakref__",
    )

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(initial) if initial else {}
        self._metrics = ContextMetrics()
        self._events: list[tuple[str, dict[str, Any]]] | None = None
        self._location: Any = None
        self._written: list[str] | None = None
        self._sink: Any = None

    @classmethod
    def owning(
        cls,
        values: dict[str, Any],
        *,
        artifact_location: Any = None,
        artifacts_written: list[str] | None = None,
        event_sink: Any = None,
    ) -> FrozenContext:
        """A context that takes ``values`` over instead of copying it (the engine's
        per-replicate constructor; the caller must not keep using the dict), with the
        engine's attributes (cheaper than setting them afterwards)."""
        ctx = cls.__new__(cls)  # each slot set once, not twice as through __init__
        ctx._data = values
        ctx._metrics = ContextMetrics()
        ctx._events = None
        ctx._location = artifact_location
        ctx._written = artifacts_written
        ctx._sink = event_sink
        return ctx

    # -- attributes (cannot be replaced) --------------------------------------------
    if TYPE_CHECKING:

        @property
        def metrics(self) -> ContextMetrics:
            """This replicate's metrics (``ctx.metrics.add(name, value)``, or ``ctx.record``)."""
    else:
        # attrgetter: steps read it on every call, and it is twice as fast as a Python getter
        metrics = property(
            attrgetter("_metrics"),
            refuse_metrics,
            refuse_metrics,
            doc="This replicate's metrics (``ctx.metrics.add(name, value)``, or ``ctx.record``).",
        )

    if TYPE_CHECKING:
        #: Where this replicate's artifacts are written (set once by the engine), or None.
        artifact_location: Any
        #: Names of the artifacts written so far in this replicate (set once by the engine).
        artifacts_written: list[str] | None
        #: Where ``emit`` delivers live events (set once by the engine), or None.
        event_sink: Any
    else:
        artifact_location = _set_once("artifact_location", "_location")
        artifacts_written = _set_once("artifacts_written", "_written")
        event_sink = _set_once("event_sink", "_sink")

    # -- reading -----------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        try:
            value = self._data[key]
        except KeyError:  # error path only: the lookup itself costs nothing extra
            raise MissingContextKeyError(key, _missing_key_message(key, list(self._data))) from None
        resolve = getattr(value, "_crystallize_resolve", None)
        if resolve is not None:
            return resolve(self)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """Return ``ctx[key]``, or ``default`` when the key is absent."""
        if key in self._data:
            return self[key]
        return default

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def keys(self):  # noqa: ANN201 - mapping protocol
        """The context's keys."""
        return self._data.keys()

    items = Mapping.items  # views that read through ``ctx[key]`` (resources get built)
    values = Mapping.values

    def __reversed__(self) -> Iterator[str]:
        return reversed(self._data)

    def __eq__(self, other: object) -> bool:
        """Equal to a context or mapping with the same keys and values. Metrics, events
        and the engine's attributes are not compared, and resources are compared as their
        factories (never built)."""
        if isinstance(other, FrozenContext):
            other = other.as_dict()
        elif not isinstance(other, dict):
            if not isinstance(other, Mapping):
                return NotImplemented
            other = dict(other.items())
        return self._data == other

    __hash__ = None  # type: ignore[assignment]  # equal contexts can differ later: unhashable

    def as_dict(self) -> dict[str, Any]:
        """Return a shallow copy of the context's values (resources left unresolved)."""
        return dict(self._data)

    # -- writing -----------------------------------------------------------------
    def __setitem__(self, key: str, value: Any) -> None:
        raise ContextMutationError(
            f"Cannot assign ctx[{key!r}]: the context is frozen. Use ctx.add({key!r}, value) "
            f"for a new key or ctx.override({key}=value) to replace one deliberately."
        )

    def __delitem__(self, key: str) -> None:
        raise ContextMutationError(f"Cannot delete ctx[{key!r}]: the context is frozen.")

    def add(self, key: str, value: Any) -> None:
        """Add a new ``key``; raises :class:`ContextMutationError` if it already exists."""
        if key in self._data:
            raise ContextMutationError(
                f"Context key {key!r} already exists (value {self._data[key]!r}); keys cannot be "
                f"overwritten with add(). Use ctx.override({key}=...) to replace it on purpose."
            )
        self._data[key] = value

    def override(self, **values: Any) -> FrozenContext:
        """Replace (or add) the given values deliberately; returns the context itself.

        Raises:
            ContextMutationError: in a replicate's context (made by the engine), for the
                keys the engine sets (:data:`ENGINE_KEYS`): a treatment or step changing
                them would mislabel the replicate or share one seed among replicates.
        """
        if self._written is not None and not ENGINE_KEYS_SET.isdisjoint(values):  # the engine's
            key = next(k for k in ENGINE_KEYS if k in values)
            raise ContextMutationError(
                f"Cannot override {key!r}: the engine sets it for every replicate "
                f"({ENGINE_KEY_HINTS[key]})."
            )
        self._data.update(values)
        return self

    # -- metrics and events --------------------------------------------------------
    def record(self, name: str, value: Any, tags: Mapping[str, Any] | None = None) -> None:
        """Record a metric value for this replicate, optionally with ``tags``."""
        self._metrics.add(name, value, tags)

    def emit(self, event: str, **payload: Any) -> None:
        """Emit a named event with a payload.

        Plugins receive it live through their ``on_event`` hook (in the driver, whatever
        the executor), and it is kept in the replicate's record.
        """
        if self._events is None:
            self._events = []
        self._events.append((event, payload))
        if self._sink is not None:
            from crystallize.events import LiveEvent

            data = self._data
            self._sink(
                LiveEvent(data.get("condition", "baseline"), data.get("replicate", 0), data.get("seed_used"), event, payload)
            )

    def __repr__(self) -> str:
        """The first 30 keys with their values shortened (:func:`short_repr`); resource
        factories are shown as the factory, never built."""
        items = list(self._data.items())
        shown = ", ".join(f"{key!r}: {short_repr(value)}" for key, value in items[:30])
        more = f", ... ({len(items) - 30} more keys)" if len(items) > 30 else ""
        return f"FrozenContext({{{shown}{more}}})"

    # -- copy and pickle -----------------------------------------------------------------
    def _state(self) -> tuple[Any, ...]:
        """What a copy or pickle keeps, as :func:`_rebuild_context`'s arguments: all but
        the event sink."""
        metrics = self._metrics  # never ReadTrackingContext's proxy
        return (
            self._data, metrics._values, metrics._tags, metrics.log, self._events, self._location, self._written
        )

    def __reduce__(self):
        """Pickle everything but the event sink, a live channel to this process's driver:
        an unpickled context keeps what it emits without delivering it."""
        return (_rebuild_context, self._state())

    def __copy__(self) -> FrozenContext:
        """A context with its own containers (values, metrics, events) and the same sink."""
        return _rebuild_context(*self._state(), event_sink=self._sink)

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenContext:
        """A deep copy of everything but the event sink, which is shared."""
        import copy

        clone = FrozenContext()
        memo[id(self)] = clone  # a value referring back to the context
        _restore(clone, *copy.deepcopy(self._state(), memo), event_sink=self._sink)
        return clone


Mapping.register(FrozenContext)


def _rebuild_context(data: dict[str, Any], *state: Any, event_sink: Any = None) -> FrozenContext:
    """A context from :meth:`FrozenContext._state` (how copies and pickles are rebuilt)."""
    ctx = FrozenContext()
    _restore(ctx, data, *state, event_sink=event_sink)
    return ctx


def _restore(
    ctx: FrozenContext,
    data: dict[str, Any],
    values: dict[str, list[Any]],
    tags: dict[str, list[dict[str, Any] | None]] | None = None,
    log: list[tuple[str, Any]] | None = None,
    events: list[tuple[str, dict[str, Any]]] | None = None,
    artifact_location: Any = None,
    artifacts_written: list[str] | None = None,
    event_sink: Any = None,
) -> None:
    """Give the fresh ``ctx`` copies of the containers of a :meth:`FrozenContext._state`
    (``log`` is ``None`` in pickles made before it was kept: rebuilt metric by metric)."""
    ctx._data = dict(data)
    metrics = ctx._metrics
    metrics._values = {name: list(found) for name, found in values.items()}
    if tags is not None:
        metrics._tags = {name: list(found) for name, found in tags.items()}
    metrics.log = list(log) if log is not None else [(n, v) for n, vs in values.items() for v in vs]
    ctx._events = list(events) if events is not None else None
    ctx._location = artifact_location
    ctx._written = list(artifacts_written) if artifacts_written is not None else None
    ctx._sink = event_sink


def standalone_context(initial: Mapping[str, Any] | None = None) -> FrozenContext:
    """Return a fresh context for calling a step or datasource by hand (e.g. in a test).

    ``"replicate"`` defaults to ``0`` and ``"condition"`` to ``"baseline"`` unless given.
    """
    data: dict[str, Any] = {"replicate": 0, "condition": "baseline"}
    if initial is not None:
        try:
            data.update(initial)  # a mapping, or (key, value) pairs as dict() takes them
        except (TypeError, ValueError):
            raise TypeError(
                f"standalone_context takes a mapping of context values, e.g. "
                f"standalone_context({{'delta': 1}}), got {type(initial).__name__} {initial!r:.80}"
            ) from None
    return FrozenContext(data)


__all__ = [
    "ENGINE_KEYS",
    "ENGINE_KEY_HINTS",
    "ContextMetrics",
    "ContextMutationError",
    "FrozenContext",
    "MissingContextKeyError",
    "standalone_context",
]
