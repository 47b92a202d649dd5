"""Which runs in flight share this process's global random generators, and keeping the
caller's generators as they were (the engine's per-run bookkeeping for seeding)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from crystallize.plugins.execution.rng_isolation import PreservedRngState
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
#: The :class:`CallersRngs` of each run in flight that keeps its caller's generators, by
#: experiment (one run per Experiment object at a time), guarded by ``_LOCK``.
_KEEPERS: dict[Any, CallersRngs] = {}
#: How long a stopped run waits for its worker threads before saying so (seconds).
WAIT_NOTICE_SECONDS = 1.0
#: Set through :func:`exits_after_interrupt` by the ``crystallize`` command.
_EXITS_AFTER_INTERRUPT = False


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
    processes, which leave this one's generators alone) keeps nothing. See
    :class:`CallersRngs` for a run stopped while worker threads run replicates."""
    seed_plugin = experiment.get_plugin(SeedPlugin)
    if not in_process or seed_plugin is None or seed_plugin.seed_fn is not None:
        return contextlib.nullcontext()
    return CallersRngs(experiment)


class CallersRngs(PreservedRngState):
    """The caller's generators, kept while ``experiment`` runs and put back when it ends.

    A thread-execution run stopped early (Ctrl+C, an error, a ``stream()`` closed) leaves
    the replicates its worker threads are running to finish in the background, drawing
    from the same global generators (a thread cannot be stopped). They are handed over
    with :func:`finish_before_restoring`. When the run raises (Ctrl+C, an error), the
    generators are put back only once those threads have ended: put back before, their
    draws would move them again. A second Ctrl+C (any ``KeyboardInterrupt``) during that
    wait stops waiting; the generators are then put back at once. Nothing waits when the
    consumer of a ``stream()`` closed it (it goes on at once, as documented; those
    threads may then move the generators again), nor in a process whose Ctrl+C the
    ``crystallize`` command handles: it ends the process once the run is stored, and
    promises not to wait for those threads.

    Args:
        experiment: the experiment whose run (or ``apply()``, ``debug()``) this keeps
            the caller's generators for.
    """

    __slots__ = ("experiment", "left_running")

    def __init__(self, experiment: Experiment) -> None:
        super().__init__()
        self.experiment = experiment
        self.left_running: list[threading.Thread] = []

    def __enter__(self) -> None:
        super().__enter__()
        with _LOCK:  # an apply() of the running experiment (from a step) keeps the run's
            _KEEPERS.setdefault(self.experiment, self)

    def __exit__(self, *exc_info: object) -> None:
        with _LOCK:
            if _KEEPERS.get(self.experiment) is self:
                del _KEEPERS[self.experiment]
        # A consumer closing its stream goes on at once, as promised (GeneratorExit); so
        # does an interrupt in the command, which ends the process once the run is stored.
        closed = isinstance(exc_info[1], GeneratorExit)
        exiting = _EXITS_AFTER_INTERRUPT and isinstance(exc_info[1], KeyboardInterrupt)
        try:
            if self.left_running and not closed and not exiting:
                _wait_for(self.left_running)
        finally:  # also when a second Ctrl+C cut the wait short
            self.left_running = []
            super().__exit__(*exc_info)


def finish_before_restoring(experiment: Experiment, threads: Iterable[threading.Thread]) -> None:
    """Note ``threads``, still running replicates of ``experiment``'s run after it
    stopped early, so the run waits for them before putting its caller's generators
    back (see :class:`CallersRngs`); nothing when the run does not keep them (a custom
    ``seed_fn``)."""
    with _LOCK:
        keeper = _KEEPERS.get(experiment)
    if keeper is not None:
        keeper.left_running.extend(threads)


def _wait_for(threads: list[threading.Thread]) -> None:
    """Wait for ``threads`` to end, saying so on the ``crystallize`` logger once it has
    taken :data:`WAIT_NOTICE_SECONDS`. Joined in short slices: a Ctrl+C interrupts the
    wait on every platform (a join without a timeout does not on Windows)."""
    import logging
    import time

    started = time.monotonic()
    told = False
    for thread in threads:
        while thread.is_alive():
            thread.join(0.05)
            if not told and time.monotonic() - started >= WAIT_NOTICE_SECONDS:
                told = True
                running = sum(t.is_alive() for t in threads)
                logging.getLogger("crystallize").warning(
                    "The run has stopped; waiting for the %d replicate(s) still running in "
                    "worker threads to finish (their results are dropped), so that Python's "
                    "random and NumPy's global generator can then be put back as they were "
                    "before the run. Press Ctrl+C to stop waiting: the generators are then put "
                    "back at once, and those replicates may move them again as they finish.",
                    running,
                )


def exits_after_interrupt(value: bool) -> None:
    """Say whether this process ends once an interrupted run is stored (the
    ``crystallize`` command, while its Ctrl+C handling is installed): then nothing draws
    from the global generators after the run, and a stopped run does not wait for its
    worker threads (see :class:`CallersRngs`)."""
    global _EXITS_AFTER_INTERRUPT
    _EXITS_AFTER_INTERRUPT = bool(value)


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
    from crystallize.plugins.execution.rng_isolation import RngStream

    kind = getattr(experiment.execution_plugin, "executor_type", "serial")
    if not isinstance(keeper, PreservedRngState) or kind != "serial":
        return None, None
    return keeper.saved, RngStream()


__all__ = [
    "CallersRngs", "drawing_rngs", "finish_before_restoring", "keep_callers_rngs", "loop_body_rngs", "record_overlap",
]
