"""Plain records a replicate produces: metrics, provenance, errors and timings.

Workers build these and send them back to the driver, so they hold only picklable,
JSON-friendly values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class StepRecord:
    """Provenance of one step in one replicate."""

    name: str
    params: dict[str, Any]
    input_hash: str | None = None
    output_hash: str | None = None
    cache_hit: bool = False
    ctx_reads: dict[str, Any] = field(default_factory=dict)
    ctx_writes: list[str] = field(default_factory=list)
    metrics: dict[str, list[Any]] = field(default_factory=dict)
    duration: float = 0.0
    cache_miss_reason: str | None = None
    artifacts: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ReplicateError:
    """A failure inside one replicate: where it happened and what was raised."""

    condition: str
    replicate: int
    step: str
    message: str
    exception_type: str
    traceback: str = ""

    def __str__(self) -> str:
        return (
            f"[{self.condition} #{self.replicate}] step '{self.step}': "
            f"{self.exception_type}: {self.message}"
        )


@dataclass(slots=True)
class ReplicateRecord:
    """Everything one (condition, replicate) run produced."""

    condition: str
    replicate: int
    seed: int | None
    metrics: dict[str, list[Any]]
    steps: list[StepRecord]
    error: ReplicateError | None = None
    duration: float = 0.0
    started_at: float = 0.0
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    metric_tags: dict[str, list[Any]] | None = None
    worker: int = 0
    #: Set only when the process that ran this replicate saw different step or
    #: datasource source code than the driver did when the run started.
    code_digest: str | None = None

    @property
    def ok(self) -> bool:
        """True when the replicate finished without an error."""
        return self.error is None

    def provenance(self) -> dict[str, Any]:
        """Return this replicate's provenance as a JSON-friendly dict."""
        return {
            "condition": self.condition,
            "replicate": self.replicate,
            "seed_used": self.seed,
            "duration": self.duration,
            "started_at": self.started_at,
            "worker_pid": self.worker,
            "steps": [asdict(step) for step in self.steps],
            "error": asdict(self.error) if self.error else None,
        }


__all__ = ["ReplicateError", "ReplicateRecord", "StepRecord"]
