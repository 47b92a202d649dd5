"""Driver hooks: ``on_replicate_end`` for each arriving record, ``on_event`` for each live
event, called in the process that runs the experiment whatever the executor."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from crystallize.events import LiveEvent
from crystallize.exceptions import ContextMutationError
from crystallize.plugins.hookspec import overrides
from crystallize.record import ReplicateRecord
from crystallize.utils.context import ContextMetrics, FrozenContext
from crystallize.utils.text import exception_text
from crystallize.utils.user_exceptions import add_note_safely

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.treatment import Treatment


class _EventContext(FrozenContext):
    """The read-only context an ``on_event`` hook receives."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise ContextMutationError(
            "The context given to on_event is read-only: it is rebuilt in the driver from what "
            "the replicate started with. Change the replicate's context in a worker hook "
            "(before_replicate) or a step instead."
        )

    add = override = record = emit = _refuse


class _EventMetrics(ContextMetrics):
    """The ``ctx.metrics`` of an ``on_event`` hook's context: empty, and ``add`` refused
    as ``ctx.record`` is (a value added there would go nowhere)."""

    __slots__ = ()

    add = _EventContext._refuse


class RecordDispatcher:
    """Calls the driver hooks: ``on_replicate_end`` per record, ``on_event`` per live event.

    An ``on_event`` hook that raises is kept in :attr:`failure` (the event may have been
    sent from inside a step, which must not be blamed for it) and raised by
    :meth:`raise_failure`, which the driver calls before it takes the next record.
    """

    def __init__(self, experiment: Experiment) -> None:
        self.experiment = experiment
        plugins = experiment.plugins
        self._on_end = [p.on_replicate_end for p in plugins if overrides(p, "on_replicate_end")]
        self._on_event = [p.on_event for p in plugins if overrides(p, "on_event")]
        #: The exception an ``on_event`` hook raised, until the driver raises it.
        self.failure: Exception | None = None
        if self._on_event:
            self._start = dict(experiment.initial_ctx)
            self._treatments = {t.name: t for t in experiment.treatments}
            # The context of the replicate whose events came last: a replicate sends its
            # events in a row, and its (possibly callable) treatment runs once, not per event.
            self._last: tuple[tuple[str, int, Any], FrozenContext] | None = None

    @property
    def listens(self) -> bool:
        """True when some plugin wants live events."""
        return bool(self._on_event)

    def __call__(self, record: ReplicateRecord) -> None:
        experiment = self.experiment
        for hook in self._on_end:
            try:
                hook(experiment, record)
            except Exception as exc:
                error = hook_failure(exc, hook_name(hook))
                _note_hook(error, hook, f"{record.condition} #{record.replicate}")
                if error is exc:
                    raise
                raise error from exc

    def event(self, event: LiveEvent) -> None:
        """Deliver one live event to every ``on_event`` hook (none once one has raised)."""
        if self.failure is not None:
            return
        ctx = self._event_context(event)
        for hook in self._on_event:
            try:
                hook(self.experiment, ctx, event.event, event.payload)
            except Exception as exc:
                error = hook_failure(exc, hook_name(hook))
                _note_hook(error, hook, f"{event.condition} #{event.replicate} (event {event.event!r})")
                self.failure = error
                return

    def raise_failure(self) -> None:
        """Raise the exception an ``on_event`` hook raised, if one did."""
        if self.failure is not None:
            raise self.failure

    def _event_context(self, event: LiveEvent) -> FrozenContext:
        """What the replicate started with: the initial context, its treatment's values,
        ``condition``, ``replicate`` and ``seed_used`` (rebuilt here, in the driver)."""
        key = (event.condition, event.replicate, event.seed)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        values = self._start.copy()
        values["replicate"] = event.replicate
        values["condition"] = event.condition
        ctx = FrozenContext.owning(values)
        treatment = self._treatments.get(event.condition)
        if treatment is not None:
            # A callable treatment may need what only the worker has; it failed there too.
            with contextlib.suppress(Exception):
                if treatment.computes_values:
                    self._apply_seeded(treatment, ctx, event.seed)
                else:
                    treatment.apply(ctx)
        if event.seed is not None:
            values["seed_used"] = event.seed
        ctx.__class__ = _EventContext
        ctx._metrics = _EventMetrics()
        self._last = (key, ctx)
        return ctx


    def _apply_seeded(self, treatment: Treatment, ctx: FrozenContext, seed: int | None) -> None:
        """Run a treatment function as the replicate ran it (under the seeds it had), with
        the driver's generators left as they were: events can arrive in the middle of a
        step of a replicate running in this process."""
        from crystallize.plugins.execution.rng_isolation import PreservedRngState
        from crystallize.plugins.seed import SeedPlugin

        seeder = self.experiment.get_plugin(SeedPlugin)
        with PreservedRngState():
            if seeder is not None and seed is not None:
                seeder.seed_treatment_function({"seed_used": seed}, treatment.name)
            treatment.apply(ctx)


def _note_hook(exc: BaseException, hook: Any, where: str) -> None:
    """Note on ``exc`` which driver hook raised it, for which record, and what happens."""
    add_note_safely(
        exc,
        f"Raised by the plugin hook {hook_name(hook)} for {where}; the run stops "
        "(replicates already finished are kept in the store).",
    )


def hook_failure(exc: Exception, hook: str) -> Exception:
    """The exception to raise for ``exc``, raised by the plugin hook named ``hook``.

    That is ``exc`` itself, except for a ``StopIteration`` or ``StopAsyncIteration``: it
    cannot pass through the run loop (a generator, where Python would turn it into a bare
    ``RuntimeError('generator raised StopIteration')``, PEP 479), so it becomes a
    ``RuntimeError`` naming the hook, with ``exc`` as its ``__cause__``; the caller adds
    the hook's note (and ``.result``) to that one, as to any other hook's exception.
    """
    if not isinstance(exc, StopIteration | StopAsyncIteration):
        return exc
    text = exception_text(exc)
    raised = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    error = RuntimeError(
        f"The plugin hook {hook} raised {raised} (a hook must not let a {type(exc).__name__} "
        "escape: the run loop is a generator, which it would end)"
    )
    error.__cause__ = exc  # and __suppress_context__, as ``raise ... from exc`` sets them
    error.__suppress_context__ = True
    return error


def hook_name(hook: Any) -> str:
    """``Plugin.hook`` for a bound hook method."""
    return f"{type(getattr(hook, '__self__', hook)).__name__}.{getattr(hook, '__name__', 'hook')}"


__all__ = ["RecordDispatcher", "hook_failure", "hook_name"]
