"""Which runs in flight share this process's global random generators, and keeping the
caller's generators as they were (the engine's per-run bookkeeping for seeding)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from crystallize.plugins.seed import SeedPlugin

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.plugins.execution.rng_isolation import RngSharing, RngStream
    from crystallize.session import RunSession

#: The runs in flight whose replicates run in this process, drawing from its global
#: random number generators (see :func:`_share_rngs`), and the lock guarding them.
_DRAWING: set[RngSharing] = set()
_LOCK = threading.Lock()
#: Execution whose replicates run in other processes, never drawing from this one's RNGs.
_OUT_OF_PROCESS = ("process", "ray")


@contextlib.contextmanager
def drawing_rngs(experiment: Experiment) -> Iterator[RngSharing | None]:
    """Count the run among :data:`_DRAWING` for the duration when its replicates run in
    this process (see :func:`_share_rngs`); yield its :class:`RngSharing`, or ``None``
    when they run in other processes (process and Ray execution)."""
    kind = getattr(experiment.execution_plugin, "executor_type", "serial")
    if kind in _OUT_OF_PROCESS:
        yield None
        return
    from crystallize.plugins.execution.rng_isolation import RngSharing

    sharing = RngSharing(experiment.name, threads=kind == "thread")
    with _LOCK:
        _share_rngs(sharing)
    try:
        yield sharing
    finally:
        with _LOCK:
            _DRAWING.discard(sharing)


def _share_rngs(sharing: RngSharing) -> None:
    """Add a run to :data:`_DRAWING` (called holding ``_LOCK``).

    Runs in flight in other threads and this one draw from the same global generators,
    spoiling each other's seeded numbers: each is told so (:attr:`RngSharing.overlap`).
    A run nested in a step of another, in the same thread, pauses that one while it
    runs: it is not concurrent.
    """
    from crystallize.plugins.seed import overlap_warning

    for other in _DRAWING:
        if sharing.runs_beside(other):
            other.overlap = other.overlap or overlap_warning(other.name, sharing.name)
            sharing.overlap = sharing.overlap or overlap_warning(sharing.name, other.name)
    _DRAWING.add(sharing)


def record_overlap(sharing: RngSharing | None, session: RunSession) -> str | None:
    """Add the warning that another run shared this run's global generators (if one
    did) to the run's warnings, once; return it when it was added just now."""
    message = sharing.overlap if sharing is not None else None
    if message is None or message in session.warnings:
        return None
    session.warnings.append(message)
    return message


def keep_callers_rngs(experiment: Experiment, *, in_process: bool = True) -> contextlib.AbstractContextManager[Any]:
    """Put the caller's global random generators back as they are now when the run (or
    ``apply()``, ``debug()``) ends: replicates running in this process seed them (the
    default seeding; a custom ``seed_fn`` leaves them to the user), and the code that
    called it — a step of an outer run among them — must go on drawing from its own
    stream, not the last replicate's. ``in_process=False`` (replicates in other
    processes, which leave this one's generators alone) keeps nothing."""
    seed_plugin = experiment.get_plugin(SeedPlugin)
    if not in_process or seed_plugin is None or seed_plugin.seed_fn is not None:
        return contextlib.nullcontext()
    from crystallize.plugins.execution.rng_isolation import PreservedRngState

    return PreservedRngState()


def loop_body_rngs(
    experiment: Experiment, keeper: contextlib.AbstractContextManager[Any]
) -> tuple[RngStream, RngStream] | tuple[None, None]:
    """``(caller's state, run's state)`` for a stream whose records are yielded to a
    loop body that must draw from the caller's generators, or ``(None, None)``.

    ``keeper`` is the run's :func:`keep_callers_rngs`; when it keeps the caller's state
    (replicates drawing in this process, the default seeding), that state is swapped in
    around each yield and the run's own swapped back after. Only under serial execution:
    there the replicates run in this thread, while the consumer waits in ``next()``.
    Under thread and async execution they go on running in other threads during the
    loop body, and swapping the shared generators would land in the middle of a step.
    """
    from crystallize.plugins.execution.rng_isolation import PreservedRngState, RngStream

    kind = getattr(experiment.execution_plugin, "executor_type", "serial")
    if not isinstance(keeper, PreservedRngState) or kind != "serial":
        return None, None
    return keeper.saved, RngStream()


__all__ = ["drawing_rngs", "keep_callers_rngs", "loop_body_rngs", "record_overlap"]
