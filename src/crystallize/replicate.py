"""The one unit of work: run every pending condition of one replicate index.

:class:`ReplicateRunner` is the ``replicate_fn`` handed to execution plugins. Serial,
thread, process, asyncio and Ray execution all call the same object; only scheduling
differs. It is picklable, so process and Ray workers receive it once and then only see
replicate indices. Workers never write to the store: records go back to the driver.

The per-condition logic lives in one generator (:meth:`ReplicateRunner._conditions`)
that yields whenever a datasource or step returns an awaitable. A synchronous driver
runs those awaitables on an event loop of its own; the asynchronous driver awaits them, so
``async def`` steps work under every executor without a second copy of the logic.
"""

from __future__ import annotations

import copy
import os
import sys
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextvars import ContextVar
from time import perf_counter
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from crystallize.awaitables import AwaitableRunner
from crystallize.dispatch import hook_name
from crystallize.failure_messages import failure_message, none_input_hint
from crystallize.loggable import loggable
from crystallize.plugins.hookspec import overrides
from crystallize.plugins.seed import SeedPlugin
from crystallize.record import ReplicateError, ReplicateRecord, StepRecord
from crystallize.step_cache import StepCacheKey
from crystallize.treatment import BASELINE, Treatment
from crystallize.utils.context import FrozenContext
from crystallize.utils.hashing import IMMUTABLE_TYPES, content_hash
from crystallize.utils.read_tracking import reads_noted, track_reads
from crystallize.utils.tracebacks import user_traceback

if TYPE_CHECKING:
    from crystallize.artifacts import ArtifactLocation
    from crystallize.experiment import Experiment
    from crystallize.plugins.execution.rng_isolation import RngSharing
    from crystallize.store import StepCache

Condition = tuple[str, Treatment | None]
_DATASOURCE_STAGE = "datasource"
_UNSEEN: tuple[Any, str | None] = (object(), None)  # no datasource output remembered
_FINISHED = object()  # what next() gives for a generator that ended


def _fresh_refcount() -> int:
    """What ``sys.getrefcount`` says of an object only a local variable holds (it
    differs between Python versions)."""
    fresh = object()
    return sys.getrefcount(fresh)


#: A datasource output with more references than this is held elsewhere too (a
#: module-level dataset): remembering it keeps nothing alive that would not be anyway.
_FRESH_REFS = _fresh_refcount()


def _is_step_failure(exc: BaseException) -> bool:
    """Whether ``exc``, raised by a datasource, step, treatment function or worker hook,
    fails its condition × replicate rather than the run: any exception but
    KeyboardInterrupt, which cancels the run. So a ``sys.exit()`` in user code, a
    ``GeneratorExit`` or another BaseException subclass (gevent's ``GreenletExit``,
    pytest's ``Failed``) fails one replicate instead of ending the run (silently, or
    stored as cancelled), and so does an ``asyncio.CancelledError`` the code raised
    itself (awaiting a task it cancelled, say): a cancellation of the replicate itself
    never comes out of that code (:func:`cancels_replicate`, :meth:`ReplicateRunner.arun_condition`).

    A GeneratorExit that no call raised, one thrown in at a ``yield`` or ``await`` by
    ``close()`` (its traceback ends in the frame catching it), is not a failure: the
    generator or coroutine catching it is being closed and must end.
    """
    if isinstance(exc, KeyboardInterrupt):
        return False
    if isinstance(exc, GeneratorExit):
        tb = exc.__traceback__
        return tb is not None and tb.tb_next is not None  # raised by a call, not by close()
    return True


def cancels_replicate(exc: BaseException) -> bool:
    """Whether ``exc`` cancels the running replicate rather than failing a step: not a
    step failure, or a CancelledError while this task is being cancelled (Ctrl+C, a
    stopped run) or the run is stopping."""
    import asyncio

    if not isinstance(exc, asyncio.CancelledError):
        return not _is_step_failure(exc)
    task = asyncio.current_task()
    stop = RUN_STOPPING.get()
    return task is None or task.cancelling() > 0 or (stop is not None and stop.is_set())


#: Set by :class:`~crystallize.plugins.execution.asynchronous.AsyncExecution` in each
#: replicate's task to the run's stop event: once it is set, a replicate is not resumed
#: after its next await (at most the synchronous steps it is running finish).
RUN_STOPPING: ContextVar[Any] = ContextVar("crystallize_run_stopping", default=None)


_new_tuple = tuple.__new__
_AWAITABLE_TYPES: dict[type, bool] = {}


def _is_awaitable_type(kind: type) -> bool:
    """``inspect.isawaitable`` by type, remembered per type (it runs for every step).

    Hot callers test ``_AWAITABLE_TYPES.get(kind, True)`` first: a dict lookup answers
    for the types already seen without the cost of a call.
    """
    known = _AWAITABLE_TYPES.get(kind)
    if known is None:
        known = kind is CoroutineType or hasattr(kind, "__await__")
        if len(_AWAITABLE_TYPES) < 1024:  # bound it: classes made on the fly are rare
            _AWAITABLE_TYPES[kind] = known
    return known


class ConditionPlan:
    """What one condition runs: its datasource and steps, with per-step constants
    (loggable params, cache keys) computed once rather than in every replicate.

    ``last_source`` is the datasource's last output and its digest, when something else
    holds that output too (a module-level dataset): the same object returned again with
    another digest was changed in place. A fresh output is not remembered (that would
    keep it alive); nor one that cannot be hashed (digest ``None``).
    """

    __slots__ = ("datasource", "steps", "entries", "last_source")

    def __init__(self, datasource: Any, steps: list[Any], cache: StepCache | None) -> None:
        self.datasource = datasource
        self.steps = steps
        self.last_source: tuple[Any, str | None] = _UNSEEN
        self.entries = []
        for step in steps:
            params = {k: loggable(v) for k, v in step.params.items()}
            keyer = StepCacheKey(step) if cache is not None and getattr(step, "cacheable", False) else None
            self.entries.append((step, step.name, params, keyer, bool(step.context_keys)))


def code_digest(experiment: Experiment, conditions: Sequence[Condition]) -> str:
    """A digest of the source code of every datasource and step the conditions run."""
    from crystallize.fingerprint import code_hash

    base = list(experiment.pipeline.steps) if experiment.pipeline is not None else []
    parts = [code_hash(experiment.datasource)] + [code_hash(step) for step in base]
    for _, treatment in conditions:
        if treatment is not None and treatment.reshapes:
            parts.append(code_hash(treatment.datasource or experiment.datasource))
            parts += [code_hash(step) for step in treatment.resolve_steps(base)]
    return ",".join(parts)


class ReplicateOutcome:
    """What running one condition produced: the record, the final data, the exception."""

    __slots__ = ("record", "data", "exception")

    def __init__(self, record: ReplicateRecord, data: Any, exception: BaseException | None):
        self.record = record
        self.data = data
        self.exception = exception


class ReplicateRunner:
    """Runs the pending conditions of a replicate index and returns their records.

    Args:
        experiment: the experiment whose datasource, pipeline, plugins and initial
            context are used (pickled to workers without its driver-only state).
        conditions: ``(name, treatment)`` pairs in result order; baseline has ``None``.
        replicates: the replicate indices that have work to do, in order.
        done: ``{replicate: {condition, ...}}`` already finished (resume); skipped.
        seed: an explicit seed for every replicate (``apply(seed=...)``).
        data: used instead of calling the datasource when ``use_data`` (``apply(data=...)``).
        use_data: whether ``data`` replaces the datasource (``data`` may be ``None``).
        cache: the run's step cache, for cacheable steps (``None``: nothing is cached).
        location: where replicates write their artifacts (the run's version folder).
        expected_code: the driver's :func:`code_digest` of the conditions; a worker that
            unpickles the runner and sees other code records that in its records.
        rng_sharing: whether the replicates have this process's global random generators
            to themselves (set by the engine; ``None``: they run in other processes). A
            cacheable step that drew from shared ones is not cached.
    """

    def __init__(
        self,
        experiment: Experiment,
        conditions: Sequence[Condition],
        replicates: Sequence[int],
        done: dict[int, set[str]] | None = None,
        seed: int | None = None,
        data: Any = None,
        use_data: bool = False,
        cache: StepCache | None = None,
        location: ArtifactLocation | None = None,
        expected_code: str | None = None,
        rng_sharing: RngSharing | None = None,
    ) -> None:
        self.experiment = experiment
        self.conditions = list(conditions)
        self.replicates = list(replicates)
        self.done = done or {}
        self.seed = seed
        self.data = data
        self.use_data = use_data
        self.cache = cache
        self.location = location
        self.rng_sharing = rng_sharing
        self.expected_code = None  # checked only where the runner is unpickled (workers)
        self._prepare()
        self.expected_code = expected_code
        #: Where ``ctx.emit`` sends live events. One set here (the engine's, calling the
        #: driver's ``on_event`` hooks) stays in this process; one given through
        #: :meth:`with_event_sink` travels with the runner to worker processes.
        self.event_sink: Callable[[Any], None] | None = None
        self._sink_travels = False

    # -- pickling: hook lists are rebuilt where the runner lands ------------------------
    def __getstate__(self) -> dict[str, Any]:
        """What worker processes receive: the experiment without its driver-only parts
        (:meth:`~crystallize.experiment.Experiment.worker_copy`), and the event sink only
        when it was given to travel (:meth:`with_event_sink`)."""
        return {**self._fields(), "experiment": self.experiment.worker_copy()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._prepare()

    def __copy__(self) -> ReplicateRunner:
        """A copy in this process: the same (whole) experiment, hook lists rebuilt."""
        clone = object.__new__(type(self))
        clone.__setstate__(self._fields())
        return clone

    def _fields(self) -> dict[str, Any]:
        # The driver's own sink would drag every plugin (driver-only ones included) into
        # the workers, where events could not reach the driver anyway.
        travels = self._sink_travels
        return {
            "experiment": self.experiment,
            "conditions": self.conditions,
            "replicates": self.replicates,
            "done": self.done,
            "seed": self.seed,
            "data": self.data,
            "use_data": self.use_data,
            "cache": self.cache,
            "location": self.location,
            "expected_code": self.expected_code,
            "rng_sharing": self.rng_sharing,
            "event_sink": self.event_sink if travels else None,
            "_sink_travels": travels,
        }

    def _prepare(self) -> None:
        exp = self.experiment
        plugins = exp.plugins
        # SeedPlugin seeds last, so no other hook draws from the RNGs after seeding.
        before = [p for p in plugins if overrides(p, "before_replicate")]
        before.sort(key=lambda p: isinstance(p, SeedPlugin))
        self._before_replicate = _hooks(before, "before_replicate")
        self._seeder = next((p for p in plugins if isinstance(p, SeedPlugin)), None)
        self._before_step = _hooks(plugins, "before_step")
        self._after_step = _hooks(plugins, "after_step")
        self._base_ctx = dict(exp.initial_ctx)
        base_steps = list(exp.pipeline.steps) if exp.pipeline is not None else []
        baseline = ConditionPlan(exp.datasource, base_steps, self.cache)
        self._plans = {
            name: ConditionPlan(t.datasource or exp.datasource, t.resolve_steps(base_steps), self.cache)
            if t is not None and t.reshapes
            else baseline
            for name, t in self.conditions
        }
        self._baseline_plan = baseline
        #: The warning of :meth:`_warn_changed_in_place`, once given (the engine records
        #: it with the run; under process or Ray execution it stays in the worker).
        self.in_place_warning: str | None = None
        self._pid = os.getpid()
        if self.expected_code is not None and self.expected_code != code_digest(exp, self.conditions):
            # This process sees other code than the driver did at the start of the run.
            self._code_seen = code_digest(exp, self.conditions)
        else:
            self._code_seen = None

    # -- drivers -----------------------------------------------------------------------
    def __call__(self, replicate: int) -> list[ReplicateRecord]:
        """Run replicate ``replicate`` of every pending condition (synchronously).

        An exception that stops the replicate (a step's KeyboardInterrupt) carries the
        records of the conditions that finished before it (:func:`finished_before`).
        """
        records = []
        try:
            records.extend(self.iter_conditions(replicate))  # extends as each one arrives
        except BaseException as exc:
            exc.crystallize_finished = records  # type: ignore[attr-defined]
            raise
        return records

    def iter_conditions(self, replicate: int) -> Iterator[ReplicateRecord]:
        """Run replicate ``replicate`` of every pending condition (synchronously), yielding
        each condition's record as soon as it finishes: a serial run shows progress
        within a replicate, and ``fail_fast`` stops at the failing condition."""
        for name, treatment in self._pending(replicate):
            yield self.run_condition(name, treatment, replicate).record

    async def arun(self, replicate: int) -> list[ReplicateRecord]:
        """Run replicate ``replicate`` of every pending condition, awaiting async steps
        (an exception that stops it carries the finished ones, as in :meth:`__call__`)."""
        records = []
        try:
            for name, treatment in self._pending(replicate):
                outcome = await self.arun_condition(name, treatment, replicate)
                records.append(outcome.record)
        except BaseException as exc:
            exc.crystallize_finished = records  # type: ignore[attr-defined]
            raise
        return records

    def run_condition(self, condition: str, treatment: Treatment | None, replicate: int) -> ReplicateOutcome:
        """Run one (condition, replicate) synchronously."""
        outcome: list[ReplicateOutcome] = []
        gen = self._conditions(condition, treatment, replicate, outcome)
        # next() with a default ends without raising StopIteration (the generator returns
        # None): the usual case, nothing awaited, costs no exception.
        awaitable = next(gen, _FINISHED)
        if awaitable is _FINISHED:
            return outcome[0]
        runner = AwaitableRunner()  # a datasource or step turned out to be async
        try:
            while True:
                try:
                    value = runner.run(awaitable)
                except BaseException as exc:
                    if not _is_step_failure(exc):  # the loop is private: its CancelledError is the step's
                        raise
                    awaitable = gen.throw(exc)
                else:
                    awaitable = gen.send(value)
        except StopIteration:
            return outcome[0]
        finally:
            runner.close()

    async def arun_condition(
        self, condition: str, treatment: Treatment | None, replicate: int
    ) -> ReplicateOutcome:
        """Run one (condition, replicate), awaiting async datasources and steps.

        A CancelledError the step raises itself fails the step; one cancelling this task
        propagates. Once the run's stop event (:data:`RUN_STOPPING`) is set, the
        replicate is cancelled the next time it would resume.
        """
        import asyncio

        stop = RUN_STOPPING.get()
        if stop is not None and stop.is_set():  # between two conditions of a replicate
            raise asyncio.CancelledError("the run is stopping")
        outcome: list[ReplicateOutcome] = []
        gen = self._conditions(condition, treatment, replicate, outcome)
        try:
            awaitable = gen.send(None)
            while True:
                try:
                    value = await awaitable
                except BaseException as exc:
                    if cancels_replicate(exc):
                        raise
                    awaitable = gen.throw(exc)
                else:
                    if stop is not None and stop.is_set():
                        raise asyncio.CancelledError("the run is stopping")
                    awaitable = gen.send(value)
        except StopIteration:
            return outcome[0]
        finally:
            gen.close()

    def with_event_sink(self, sink: Callable[[Any], None] | None) -> ReplicateRunner:
        """A shallow copy whose live events go to ``sink`` (executors use it to route
        events from threads, processes or Ray workers back to the driver).

        Unlike a sink assigned to :attr:`event_sink`, this one is pickled with the
        runner, so it must be picklable for process and Ray workers (a
        :class:`~crystallize.events.QueueSink` on a ``multiprocessing.Manager().Queue()``).
        """
        clone = copy.copy(self)
        clone.event_sink = sink
        clone._sink_travels = sink is not None
        return clone

    def failed_records(self, replicate: int, reason: str, exception_type: str = "WorkerError") -> list[ReplicateRecord]:
        """Records marking every pending condition of ``replicate`` as failed.

        Used by executors when the worker running a replicate died, so the run still
        completes and ``resume`` can finish the replicate later.
        """
        return [
            ReplicateRecord(
                condition=name,
                replicate=replicate,
                seed=None,
                metrics={},
                steps=[],
                error=ReplicateError(name, replicate, "worker", reason, exception_type),
            )
            for name, _ in self._pending(replicate)
        ]

    def _warn_changed_in_place(self, before: str | None, now: str | None) -> None:
        """Warn (once per run and process) that the datasource handed out an object
        again whose content changed since (see :class:`ConditionPlan`): results then
        depend on execution order. Outputs that cannot be hashed are not checked."""
        if before is None or now is None or self.in_place_warning is not None:
            return
        import warnings

        from crystallize.utils.callers import user_stacklevel

        name = getattr(self.experiment, "name", None)
        self.in_place_warning = (
            f"Experiment{f' {name!r}' if name else ''}: the datasource returned the same object "
            "as for an earlier condition or replicate, but its content changed since: a step "
            "modified the datasource's output in place (or the datasource refills one object), "
            "so each replicate sees what earlier "
            "ones left and results depend on the execution order (serial and process "
            "execution disagree). Return a copy from the datasource, or copy the data in the "
            "step before changing it (df = df.copy(), arr = arr.copy())."
        )
        warnings.warn(self.in_place_warning, RuntimeWarning, stacklevel=user_stacklevel())

    def _pending(self, replicate: int) -> list[Condition]:
        done = self.done.get(replicate)
        if not done:
            return self.conditions
        return [c for c in self.conditions if c[0] not in done]

    # -- the replicate itself ------------------------------------------------------------
    def _conditions(
        self, condition: str, treatment: Treatment | None, replicate: int, outcome: list[ReplicateOutcome]
    ) -> Generator[Any, Any, None]:
        """Run one condition × replicate, yielding each awaitable a datasource or step
        returns (the driver sends back its result, or throws its exception in), and put
        the :class:`ReplicateOutcome` in ``outcome`` at the end. (Returned instead, it
        would reach the driver only inside a StopIteration, which costs a raise.)"""
        exp = self.experiment
        plan = self._plans.get(condition) or self._baseline_plan
        started_at = time.time()
        t_start = perf_counter()
        values = self._base_ctx.copy()
        values["replicate"] = replicate
        values["condition"] = condition
        if self.seed is not None:
            values["seed_used"] = self.seed
        elif self._seeder is not None:
            # Known to every hook (the SeedPlugin seeds last, with it), not only to steps.
            values["seed_used"] = self._seeder.seed_for(replicate)
        written: list[str] = []
        ctx = FrozenContext.owning(
            values, artifact_location=self.location, artifacts_written=written, event_sink=self.event_sink
        )
        metrics = ctx.metrics
        log = metrics.log
        steps: list[StepRecord] = []
        before_step = self._before_step
        after_step = self._after_step
        cache = self.cache
        # Where a failure happened, for ReplicateError.step: a step's name, or the plugin
        # hook running (the hook loops below assign it as their loop variable: no cost
        # per step when there are no hooks).
        stage = "treatment"
        data: Any = None
        exception: BaseException | None = None
        error: ReplicateError | None = None
        try:
            if treatment is not None:
                if treatment.computes_values and self._seeder is not None:
                    self._seeder.seed_treatment_function(values, treatment.name)
                treatment.apply(ctx)
            for stage, hook in self._before_replicate:  # noqa: B007 - read on failure
                hook(exp, ctx)
            stage = _DATASOURCE_STAGE
            fresh_refs = _FRESH_REFS  # references to an output nothing else holds
            if self.use_data:
                data = self.data
            else:
                data = plan.datasource.fetch(ctx)
                if _AWAITABLE_TYPES.get(type(data), True) and _is_awaitable_type(type(data)):
                    data = yield data
                    fresh_refs += 2  # the driver's variable and its gen.send(value) hold it too
            input_hash = content_hash(data)
            last = plan.last_source  # the datasource's previous output and its digest
            if last[0] is data and last[1] != input_hash:
                self._warn_changed_in_place(last[1], input_hash)
            plan.last_source = (data, input_hash) if sys.getrefcount(data) > fresh_refs else _UNSEEN
            # How many metric values, context keys and artifacts there are before each
            # step: what it adds is what lies beyond. Counted here, then carried over from
            # the end of the step before (only before_step hooks act in between).
            n_logged, n_keys, n_written = len(log), len(values), len(written)
            for step, name, params, keyer, reads_context in plan.entries:
                if before_step:
                    for stage, hook in before_step:  # noqa: B007 - read on failure
                        hook(exp, step)
                    n_logged, n_keys, n_written = len(log), len(values), len(written)
                stage = name
                step_input = data
                given = _reads(step.context_keys, values) if reads_context else {}  # before it runs
                t0 = perf_counter()
                lookup = keyer.lookup(cache, ctx, input_hash, data) if keyer is not None else None
                if lookup is not None and lookup.hit:
                    data = lookup.replay(ctx)
                else:
                    if lookup is not None:  # what the step reads must be part of its key
                        track_reads(ctx)
                    try:
                        out = step(data, ctx)
                        if _AWAITABLE_TYPES.get(type(out), True) and _is_awaitable_type(type(out)):
                            out = yield out
                    finally:
                        noted = reads_noted(ctx) if lookup is not None else None
                    # A pair handed back unchanged (data that *is* a pair, from the
                    # datasource) passes through: it was not made to record metrics.
                    if type(out) is tuple and len(out) == 2 and isinstance(out[1], dict) and out is not step_input:
                        data = out[0]
                        for metric, value in out[1].items():
                            metrics.add(metric, value)
                    else:
                        data = out
                    if lookup is not None:
                        # Hashed now to be stored with the output, so a hit need not hash it
                        # (after_step hooks may change it: then it is hashed after them).
                        lookup.output_hash = None if after_step else content_hash(data)
                        lookup.store(
                            cache, keyer, data, log[n_logged:], ctx, n_keys, written[n_written:], *noted,
                            shared_rngs=self.rng_sharing is not None and self.rng_sharing.shared,
                        )
                duration = perf_counter() - t0
                # Nothing after these hooks can fail before the next step resets the stage.
                for stage, hook in after_step:  # noqa: B007 - read on failure
                    hook(exp, step, data, ctx)
                # A cached step's digest is known (computed for the entry, or read from it);
                # a step passing an immutable value through (say, one that only records
                # metrics) leaves its digest unchanged: no need to hash either again.
                if lookup is not None and lookup.output_hash is not None and not after_step:
                    output_hash = lookup.output_hash
                elif data is step_input and type(data) in IMMUTABLE_TYPES:
                    output_hash = input_hash
                else:
                    output_hash = content_hash(data)
                logged_now, keys_now, written_now = len(log), len(values), len(written)
                if logged_now == n_logged:
                    step_metrics = {}
                elif logged_now == n_logged + 1:  # the usual case: the step recorded one value
                    metric, value = log[n_logged]
                    step_metrics = {metric: [value]}
                else:
                    step_metrics = _grouped(log, n_logged)
                steps.append(
                    _new_tuple(  # StepRecord(...) without its defaults handling
                        StepRecord,
                        (
                            name,
                            params,
                            input_hash,
                            output_hash,
                            lookup is not None and lookup.hit,
                            given,
                            list(values)[n_keys:] if keys_now > n_keys else [],
                            step_metrics,
                            duration,
                            lookup.miss_reason if lookup is not None else None,
                            written[n_written:] if written_now > n_written else [],
                        ),
                    )
                )
                input_hash = output_hash
                n_logged, n_keys, n_written = logged_now, keys_now, written_now
        except BaseException as exc:
            if not _is_step_failure(exc):
                raise
            exception = exc
            error = ReplicateError(
                condition=condition,
                replicate=replicate,
                step=stage,
                message=failure_message(exc) + none_input_hint(plan.entries, stage, data, exc, len(steps)),
                exception_type=type(exc).__name__,
                traceback=user_traceback(exc),
            )
        record = ReplicateRecord(  # positional (ReplicateRecord.FIELDS order): cheaper
            condition,
            replicate,
            values.get("seed_used"),
            metrics.as_dict(),
            steps,
            error,
            perf_counter() - t_start,
            started_at,
            ctx._events or [],
            metrics.all_tags(),
            self._pid,
            self._code_seen,
        )
        outcome.append(ReplicateOutcome(record, data, exception))


def _hooks(plugins: Sequence[Any], hook: str) -> list[tuple[str, Callable[..., Any]]]:
    """``(stage, bound hook)`` for each plugin implementing ``hook``; the stage
    (``"Plugin.hook"``) is what a failure in it is reported as."""
    bound = [getattr(p, hook) for p in plugins if overrides(p, hook)]
    return [(hook_name(method), method) for method in bound]


def _reads(keys: tuple[str, ...], values: dict[str, Any]) -> dict[str, Any]:
    if len(keys) == 1:  # the usual case: one injected parameter
        key = keys[0]
        return {key: loggable(values[key])} if key in values else {}
    return {key: loggable(values[key]) for key in keys if key in values}


def _grouped(log: list[tuple[str, Any]], start: int) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for name, value in log[start:]:
        grouped.setdefault(name, []).append(value)
    return grouped


def finished_before(exc: BaseException) -> list[ReplicateRecord]:
    """The records of the conditions a replicate finished before ``exc`` stopped it
    (executors hand them over before raising ``exc``, so they are stored)."""
    return getattr(exc, "crystallize_finished", None) or []


def baseline_condition() -> Condition:
    """The untreated condition, always first."""
    return (BASELINE, None)


__all__ = [
    "RUN_STOPPING", "Condition", "ReplicateOutcome", "ReplicateRunner", "baseline_condition",
    "finished_before", "loggable",
]
