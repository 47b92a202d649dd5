"""Plain records a replicate produces: metrics, provenance, errors and timings.

Workers build these and send them back to the driver, so they hold only picklable,
JSON-friendly values. They are small slotted classes with a generated ``__init__`` —
the same shape ``dataclasses`` would give, without importing it (and ``inspect``)
on every ``import crystallize``.
"""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING, Any, ClassVar

_FACTORY = object()  # marks a field whose default is a fresh empty container


class PlainRecord:
    """Base of the record classes: declared fields, equality, repr and ``as_dict``.

    Subclasses list ``FIELDS`` as ``(name, default)`` pairs; a default of ``list`` or
    ``dict`` (the type itself) means a fresh empty container per instance, and a field
    without a default uses :data:`REQUIRED`. For type checkers, which cannot see the
    generated ``__init__``, a subclass also annotates each field in the class body and
    declares the same ``__init__`` under ``if TYPE_CHECKING:`` (annotations without a
    value add no class attribute, so they live alongside ``__slots__`` at no cost).
    """

    __slots__ = ()
    FIELDS: tuple[tuple[str, Any], ...] = ()
    field_names: ClassVar[tuple[str, ...]]  #: the field names, in ``FIELDS`` order

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.field_names = tuple(name for name, _ in cls.FIELDS)
        params, lines, namespace = [], [], {"_FACTORY": _FACTORY}
        for name, default in cls.FIELDS:
            if default is REQUIRED:
                params.append(name)
                lines.append(f"    self.{name} = {name}")
            elif default in (list, dict):
                params.append(f"{name}=_FACTORY")
                lines.append(f"    self.{name} = {default.__name__}() if {name} is _FACTORY else {name}")
            else:
                namespace[f"_default_{name}"] = default
                params.append(f"{name}=_default_{name}")
                lines.append(f"    self.{name} = {name}")
        source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(lines) + "\n"
        exec(source, namespace)  # a straight-line __init__: fast on the per-replicate path
        cls.__init__ = namespace["__init__"]  # type: ignore[method-assign, assignment]
        cls.__init__.__qualname__ = f"{cls.__qualname__}.__init__"

    def as_dict(self) -> dict[str, Any]:
        """The fields as a dict (nested records stay objects; see subclasses)."""
        return {name: getattr(self, name) for name in self.field_names}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.field_names)

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass with eq=True

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.field_names)
        return f"{type(self).__name__}({fields})"

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in self.field_names)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.field_names, state, strict=True):
            object.__setattr__(self, name, value)


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: Marks a record field that has no default.
REQUIRED: Any = _Required()


_StepFields = namedtuple(
    "_StepFields",
    (
        "name", "params", "input_hash", "output_hash", "cache_hit", "ctx_reads",
        "ctx_writes", "metrics", "duration", "cache_miss_reason", "artifacts",
    ),
)


class StepRecord(_StepFields):
    """Provenance of one step in one replicate: an immutable named tuple.

    Fields: ``name``, ``params``, ``input_hash``/``output_hash`` (content digests of
    the data going in and out; ``None`` when it cannot be hashed), ``cache_hit``,
    ``ctx_reads`` (context values the step was given), ``ctx_writes`` (keys it added),
    ``metrics`` (``{name: [values]}`` it recorded), ``duration`` (seconds),
    ``cache_miss_reason`` and ``artifacts`` (names it wrote).
    """

    __slots__ = ()
    field_names: tuple[str, ...] = _StepFields._fields

    def __new__(
        cls,
        name: str,
        params: dict[str, Any],
        input_hash: str | None = None,
        output_hash: str | None = None,
        cache_hit: bool = False,
        ctx_reads: dict[str, Any] | None = None,
        ctx_writes: list[str] | None = None,
        metrics: dict[str, list[Any]] | None = None,
        duration: float = 0.0,
        cache_miss_reason: str | None = None,
        artifacts: list[str] | None = None,
    ) -> StepRecord:
        return tuple.__new__(
            cls,
            (
                name, params, input_hash, output_hash, cache_hit,
                {} if ctx_reads is None else ctx_reads,
                [] if ctx_writes is None else ctx_writes,
                {} if metrics is None else metrics,
                duration, cache_miss_reason,
                [] if artifacts is None else artifacts,
            ),
        )

    def as_dict(self) -> dict[str, Any]:
        """The fields as a dict."""
        return dict(zip(self.field_names, self, strict=True))


class ReplicateError(PlainRecord):
    """A failure inside one replicate: where it happened and what was raised."""

    __slots__ = ("condition", "replicate", "step", "message", "exception_type", "traceback")
    condition: str
    replicate: int
    step: str
    message: str
    exception_type: str
    traceback: str
    FIELDS = (
        ("condition", REQUIRED),
        ("replicate", REQUIRED),
        ("step", REQUIRED),
        ("message", REQUIRED),
        ("exception_type", REQUIRED),
        ("traceback", ""),
    )

    if TYPE_CHECKING:

        def __init__(
            self, condition: str, replicate: int, step: str, message: str, exception_type: str,
            traceback: str = "",
        ) -> None: ...

    def __getitem__(self, field: str) -> Any:
        """``error["step"]`` reads a field as ``error.step`` does (and as the dicts of
        ``result.to_dict()["errors"]`` are read)."""
        if field not in self.field_names:
            raise KeyError(f"{field!r}: a replicate error has {', '.join(self.field_names)}")
        return getattr(self, field)

    __iter__ = None  # item access by name only: not iterable (no fallback to __getitem__(0))

    def __repr__(self) -> str:
        # The traceback (often dozens of lines) is left out: a list of errors in a REPL
        # stays readable; error.traceback and result.report() have it.
        lines = self.traceback.count("\n")
        return (
            f"ReplicateError(condition={self.condition!r}, replicate={self.replicate!r}, "
            f"step={self.step!r}, exception_type={self.exception_type!r}, message={self.message!r}"
            + (f", traceback=<{lines} lines>)" if self.traceback else ")")
        )

    def __str__(self) -> str:
        return (
            f"[{self.condition} #{self.replicate}] step '{self.step}': "
            f"{self.exception_type}: {self.message}"
        )


class ReplicateRecord(PlainRecord):
    """Everything one (condition, replicate) run produced.

    ``code_digest`` is set only when the process that ran this replicate saw different
    step or datasource source code than the driver did when the run started.
    """

    __slots__ = (
        "condition", "replicate", "seed", "metrics", "steps", "error", "duration",
        "started_at", "events", "metric_tags", "worker", "code_digest",
    )
    condition: str
    replicate: int
    seed: int | None
    metrics: dict[str, list[Any]]
    steps: list[StepRecord]
    error: ReplicateError | None
    duration: float
    started_at: float
    events: list[Any]
    metric_tags: dict[str, list[dict[str, Any] | None]] | None
    worker: int
    code_digest: str | None
    FIELDS = (
        ("condition", REQUIRED),
        ("replicate", REQUIRED),
        ("seed", REQUIRED),
        ("metrics", REQUIRED),
        ("steps", REQUIRED),
        ("error", None),
        ("duration", 0.0),
        ("started_at", 0.0),
        ("events", list),
        ("metric_tags", None),
        ("worker", 0),
        ("code_digest", None),
    )

    if TYPE_CHECKING:

        def __init__(
            self, condition: str, replicate: int, seed: int | None, metrics: dict[str, list[Any]],
            steps: list[StepRecord], error: ReplicateError | None = None, duration: float = 0.0,
            started_at: float = 0.0, events: list[Any] = [],  # noqa: B006
            metric_tags: dict[str, list[dict[str, Any] | None]] | None = None,
            worker: int = 0, code_digest: str | None = None,
        ) -> None: ...

    def without_steps(self) -> ReplicateRecord:
        """A copy whose step provenance stays in the run store (see :data:`STEPS_IN_STORE`)."""
        return ReplicateRecord(
            self.condition, self.replicate, self.seed, self.metrics, STEPS_IN_STORE, self.error,
            self.duration, self.started_at, self.events, self.metric_tags, self.worker,
            self.code_digest,
        )

    @property
    def ok(self) -> bool:
        """True when the replicate finished without an error."""
        return self.error is None

    def provenance(self) -> dict[str, Any]:
        """Return this replicate's provenance as a JSON-friendly dict.

        It holds ``metric_tags`` (``{metric: [tags per value]}``, ``None`` for a value
        recorded without tags) only when the replicate recorded tags.
        """
        entry = {
            "condition": self.condition,
            "replicate": self.replicate,
            "seed_used": self.seed,
            "duration": self.duration,
            "started_at": self.started_at,
            "worker_pid": self.worker,
            "steps": [step.as_dict() for step in self.steps],
            "error": self.error.as_dict() if self.error else None,
        }
        if self.metric_tags is not None:
            entry["metric_tags"] = self.metric_tags
        return entry


class _StepsInStore(list):
    """The empty ``steps`` of a record whose step provenance was left in the run store."""

    def __repr__(self) -> str:
        return "<steps in the run store>"


#: ``record.steps`` of records a large run keeps in memory without their step
#: provenance; :class:`~crystallize.result.Result` loads the full records on demand.
STEPS_IN_STORE: list[StepRecord] = _StepsInStore()

__all__ = ["STEPS_IN_STORE", "REQUIRED", "PlainRecord", "ReplicateError", "ReplicateRecord", "StepRecord"]
