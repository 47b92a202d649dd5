"""What a cacheable step reads from its context, noted while it runs.

A cacheable step's output may be reused only where what it read is the same, so while
such a step runs the engine switches the replicate's context to
:class:`ReadTrackingContext` (:func:`track_reads`), which notes the digest of every value
the step asks for — context keys, the metrics so far, the keys present, artifacts
earlier steps wrote — and :func:`reads_noted` hands them to the step cache
(:mod:`crystallize.step_cache`). Other steps pay nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from crystallize.utils.context import ContextMetrics, FrozenContext, refuse_metrics

#: The digest noted for a key that was looked up but is not in the context.
ABSENT = "absent"
#: The pseudo-key noted when a step reads the metrics recorded so far (``ctx.metrics``).
METRICS_READ = "<metrics>"
#: The pseudo-key noted when a step looks at which keys the context has (iterating it).
KEYS_READ = "<keys>"
#: The start of the pseudo-key noted when a step reads an artifact an earlier step of
#: its replicate wrote: ``"<artifact:model.txt>"`` (see :func:`artifact_read_key`).
ARTIFACT_READ = "<artifact:"


def artifact_read_key(name: str) -> str:
    """The pseudo-key under which reading artifact ``name`` is noted: its digest is that
    of the file's bytes (:data:`ABSENT` while there is no such file)."""
    return f"{ARTIFACT_READ}{name}>"


def note_artifact_read(ctx: FrozenContext | None, name: str, payload: bytes) -> None:
    """Note that the step running with ``ctx`` read ``payload`` from artifact ``name``
    (nothing unless its reads are being tracked, see :func:`track_reads`)."""
    if type(ctx) is ReadTrackingContext:
        key = artifact_read_key(name)
        if key not in ctx._reads:  # the first read: the file as earlier steps left it
            from crystallize.utils.hashing import content_hash

            ctx._reads[key] = content_hash(payload)


def _artifact_digest(ctx: FrozenContext, key: str) -> str | None:
    """The digest of the artifact file a :func:`artifact_read_key` names, for this
    replicate: of its bytes, :data:`ABSENT` when there is none, ``None`` when it cannot
    be read."""
    from crystallize.utils.hashing import content_hash

    location = ctx._location
    if location is None:
        return ABSENT
    values = ctx._data
    name = key[len(ARTIFACT_READ) : -1]
    path = location.path(values.get("condition", "baseline"), values.get("replicate", 0), name)
    try:
        return content_hash(path.read_bytes())
    except FileNotFoundError:
        return ABSENT
    except OSError:
        return None


def value_digest(values: Mapping[str, Any], key: str) -> str | None:
    """The content digest of context value ``key`` as a step's reads are keyed: a
    resource factory by its key and code (not the live resource), a missing key as
    :data:`ABSENT`; ``None`` when the value cannot be hashed (a factory object whose
    attributes cannot be, too)."""
    from crystallize.fingerprint import UNHASHABLE_STATE, param_digest  # code by code

    if key not in values:
        return ABSENT
    value = values[key]
    spec = getattr(value, "_crystallize_spec", None)
    if spec is None:
        return param_digest(value)
    described = spec()
    if isinstance(described, dict) and str(described.get("code", "")).startswith(UNHASHABLE_STATE):
        return None
    return param_digest(described)


def read_digest(ctx: FrozenContext, key: str) -> str | None:
    """:func:`value_digest` of ``ctx``'s value ``key``; for :data:`METRICS_READ`, of the
    metrics recorded so far (in order, with tags); for :data:`KEYS_READ`, of the set of
    keys; for an :func:`artifact_read_key`, of the artifact file's bytes."""
    from crystallize.fingerprint import param_digest

    if key.startswith(ARTIFACT_READ):
        return _artifact_digest(ctx, key)
    if key == KEYS_READ:
        return param_digest(sorted(map(str, ctx._data)))
    if key == METRICS_READ:
        metrics = ctx._metrics  # the slot, never a proxy
        return param_digest((metrics.log, metrics.all_tags()))
    return value_digest(ctx._data, key)


class ReadTrackingContext(FrozenContext):
    """A :class:`FrozenContext` that notes the digest of every value it is asked for.

    A cacheable step's output may only be reused where the context values it read are
    the same, so the engine switches the replicate's context to this class while such a
    step runs (:func:`track_reads`; both classes share their slots, so ``__class__`` can
    change back and forth) and other steps pay nothing. Each key is noted once, with the
    value it had before the step changed it (``override`` notes first).
    """

    __slots__ = ()

    def _note(self, key: Any) -> None:
        if key not in self._reads:
            self._reads[key] = read_digest(self, key) if isinstance(key, str) else None

    @property
    def metrics(self) -> Any:  # type: ignore[override]
        """The replicate's metrics; reading them (anything but ``add``) is noted."""
        return _TrackedMetrics(self, self._metrics)

    metrics = metrics.setter(refuse_metrics).deleter(refuse_metrics)

    def _note_all(self) -> None:
        self._note(KEYS_READ)  # which keys exist matters too (a later run may add one)
        for key in list(self._data):
            self._note(key)

    def __repr__(self) -> str:
        self._note_all()
        return super().__repr__()

    def _state(self) -> tuple[Any, ...]:
        self._note_all()  # a copy or pickle can be read in any way
        self._note(METRICS_READ)
        return super()._state()

    def __reversed__(self) -> Iterator[str]:
        self._note_all()
        return super().__reversed__()

    def __eq__(self, other: object) -> bool:
        self._note_all()
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __getitem__(self, key: str) -> Any:
        self._note(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        """Return ``ctx[key]``, or ``default`` when the key is absent (noting the read)."""
        self._note(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._note(key)
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self._note_all()
        return super().__iter__()

    def __len__(self) -> int:
        self._note_all()
        return super().__len__()

    def keys(self):  # noqa: ANN201 - mapping protocol
        """The context's keys (noting every key as read)."""
        self._note_all()
        return super().keys()

    def as_dict(self) -> dict[str, Any]:
        """Return a shallow copy of the context's values (noting every key as read)."""
        self._note_all()
        return super().as_dict()

    def add(self, key: str, value: Any) -> None:
        """Add a new ``key`` (noted as read: whether it already exists decides the outcome)."""
        self._note(key)
        super().add(key, value)

    def override(self, **values: Any) -> FrozenContext:
        """Replace values deliberately, noting the values they replace as read first."""
        for key in values:
            self._note(key)
        self._overridden.update(values)
        return super().override(**values)


class _TrackedMetrics:
    """``ctx.metrics`` during a tracked step: ``add`` passes through; any other use reads
    the metrics recorded so far, which is noted as the read :data:`METRICS_READ`."""

    __slots__ = ("_ctx", "_metrics")

    def __init__(self, ctx: ReadTrackingContext, metrics: ContextMetrics) -> None:
        self._ctx = ctx
        self._metrics = metrics

    @property
    def __class__(self) -> type:  # isinstance(ctx.metrics, ContextMetrics) still holds
        return ContextMetrics

    def add(self, name: str, value: Any, tags: Mapping[str, Any] | None = None) -> None:
        """Record a metric value (not a read)."""
        self._metrics.add(name, value, tags)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # protocols (copy, pickle) find nothing extra here
            raise AttributeError(name)
        self._ctx._note(METRICS_READ)
        return getattr(self._metrics, name)

    def __reduce_ex__(self, protocol: Any) -> Any:
        self._ctx._note(METRICS_READ)  # copying or pickling: the copy holds the real metrics
        return self._metrics.__reduce_ex__(protocol)

    def __eq__(self, other: object) -> bool:
        other = other._metrics if isinstance(other, _TrackedMetrics) else other
        self._ctx._note(METRICS_READ)
        return self._metrics is other or self._metrics == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        self._ctx._note(METRICS_READ)
        return repr(self._metrics)

    def __getitem__(self, name: str) -> list[Any]:
        self._ctx._note(METRICS_READ)
        return self._metrics[name]

    def __contains__(self, name: object) -> bool:
        self._ctx._note(METRICS_READ)
        return name in self._metrics

    def __iter__(self) -> Iterator[str]:
        self._ctx._note(METRICS_READ)
        return iter(self._metrics)

    def __len__(self) -> int:
        self._ctx._note(METRICS_READ)
        return len(self._metrics)


def track_reads(ctx: FrozenContext) -> None:
    """Start noting what ``ctx`` is asked for (see :class:`ReadTrackingContext`)."""
    ctx._reads = {}
    ctx._overridden = {}
    ctx.__class__ = ReadTrackingContext


def reads_noted(ctx: FrozenContext) -> tuple[dict[str, str | None], set[str]]:
    """Stop noting reads; return ``{key: digest}`` of what was read (``None``: a value
    that cannot be hashed) and the keys the step replaced with ``override``."""
    ctx.__class__ = FrozenContext
    return ctx._reads, set(ctx._overridden)


__all__ = [
    "ABSENT",
    "ARTIFACT_READ",
    "KEYS_READ",
    "METRICS_READ",
    "ReadTrackingContext",
    "artifact_read_key",
    "note_artifact_read",
    "read_digest",
    "reads_noted",
    "track_reads",
    "value_digest",
]
