"""The driver: runs an experiment's replicates through its execution plugin.

Everything here happens in the calling process. Replicates themselves run inside
:class:`~crystallize.replicate.ReplicateRunner`, wherever the execution plugin puts them;
their records come back here, where driver hooks see them one by one and the Result is
assembled.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import warnings
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.arrivals import iterate_records
from crystallize.artifacts import scratch_location
from crystallize.dispatch import RecordDispatcher
from crystallize.events import LiveEvent
from crystallize.exceptions import (
    ExperimentBusyError,
    ExperimentValidationError,
    MissingMetricError,
    RunFailedError,
)
from crystallize.hypothesis import Hypothesis, HypothesisResult
from crystallize.lifecycle import (
    attach_result,
    call_after_run,
    close_plugins,
    ended,
    running_as,
    start_plugins,
    status_of,
)
from crystallize.metric_watch import HypothesisMetricWatch
from crystallize.plugins.seed import SeedPlugin
from crystallize.record import ReplicateRecord
from crystallize.replicate import ReplicateOutcome, ReplicateRunner, baseline_condition, code_digest
from crystallize.result import Result
from crystallize.run_sharing import drawing_rngs, keep_callers_rngs, loop_body_rngs, record_overlap
from crystallize.session import RunSession
from crystallize.treatment import BASELINE, Treatment
from crystallize.upstream_pins import upstreams_pinned
from crystallize.utils.callers import user_stacklevel
from crystallize.utils.gc_pacing import paced_gc
from crystallize.utils.user_exceptions import LetThrough, add_note_safely, contextmanager

if TYPE_CHECKING:
    from crystallize.experiment import Experiment, TreatmentLike

STRATEGIES = ("rerun", "resume")


@contextmanager
def run_overrides(experiment: Experiment, **values: Any) -> Iterator[None]:
    """Temporarily replace experiment attributes for one run (``None`` keeps the original)."""
    saved = {key: getattr(experiment, key) for key, value in values.items() if value is not None}
    try:
        for key in saved:
            setattr(experiment, key, values[key])
        yield
    finally:
        for key, value in saved.items():
            setattr(experiment, key, value)


_RUNNING: weakref.WeakSet[Experiment] = weakref.WeakSet()
_RUNNING_LOCK = threading.Lock()


@contextmanager
def _running(experiment: Experiment) -> Iterator[None]:
    """Mark ``experiment`` as running for the duration; refuse a second concurrent run
    (its per-run overrides and plugin state live on the one object)."""
    with _RUNNING_LOCK:
        if experiment in _RUNNING:
            raise ExperimentBusyError(
                f"Experiment '{experiment.name}' is already running: a stream() that was not "
                "read to the end (close it with stream.close(), or read it out), or a run in "
                "another thread. One Experiment object runs one run at a time; build a second "
                "Experiment to run two at once."
            )
        _RUNNING.add(experiment)
    try:
        yield
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(experiment)


def is_running(experiment: Experiment | None) -> bool:
    """True while ``experiment`` runs (``run()``, or a ``stream()`` not yet closed)."""
    return experiment is not None and experiment in _RUNNING


def verify_hypotheses(
    hypotheses: Iterable[Hypothesis], result: Result
) -> list[HypothesisResult]:
    """Verify each hypothesis on the result's metrics.

    A metric recorded nowhere is a :class:`MissingMetricError` when every replicate
    succeeded (a typo); when replicates failed, it is kept as the hypothesis' ``error``
    so the failures stay visible instead of being hidden behind it.
    """
    hypotheses = list(hypotheses)
    if not hypotheses:
        return []
    baseline = result.metrics.baseline.samples()
    treatments = {name: cm.samples() for name, cm in result.metrics.treatments.items()}
    verdicts = []
    for hyp in hypotheses:
        try:
            verdicts.append(hyp.verify(baseline, treatments))
        except MissingMetricError as exc:
            if not result.errors:
                exc.result = result  # type: ignore[attr-defined]
                raise
            failed = f"{len(result.errors)} of {len(result.records)} replicate record(s) failed"
            why = f"{exc} ({failed}, which may be why: see result.errors)"
            # as for one failed comparison: every treatment gets an error entry and is
            # listed, unranked, so code reading results[t] or looping over ranking works
            results = {name: {"error": why} for name in treatments}
            verdicts.append(HypothesisResult(hyp.name, results, list(results), {}, hyp.metrics, hyp.correction, why))
    return verdicts


def run_experiment(
    experiment: Experiment,
    treatments: Iterable[TreatmentLike] | None,
    hypotheses: Iterable[Hypothesis] | None,
    replicates: int | None,
    strategy: str,
    fail_fast: bool = False,
) -> Result:
    """Implementation of :meth:`Experiment.run`: :func:`iter_run` to the end."""
    run = iter_run(experiment, treatments, hypotheses, replicates, strategy, fail_fast, stream=False)
    try:
        next(run)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("iter_run(stream=False) yielded a record")  # pragma: no cover


class RunStream:
    """Iterate over a run's records as they finish; ``.result`` holds the Result at the end.

    Leaving the loop early (``break``) cancels the replicates that have not started,
    keeps the finished ones in the store and marks the run ``cancelled``. So does the
    end of the program while the stream is left unfinished by the thread that started
    reading it (e.g. ``next(iter(stream))`` and the script ends): the run stops at
    exit instead of the process waiting for every remaining replicate.
    """

    def __init__(self, run: Generator[ReplicateRecord, None, Result]) -> None:
        self._run = run
        self.result: Result | None = None
        self._reader: threading.Thread | None = None  # the thread that started reading
        self._reader_pid: int | None = None

    def __iter__(self) -> Iterator[ReplicateRecord]:
        self._reader = threading.current_thread()
        self._reader_pid = os.getpid()  # a forked worker inherits the set, not the stream
        _READ_STREAMS.add(self)
        try:
            self.result = yield from self._run
        finally:
            _READ_STREAMS.discard(self)

    def close(self) -> None:
        """Stop the run now (what finished is kept)."""
        self._run.close()


#: Streams started and not yet finished or closed.
_READ_STREAMS: weakref.WeakSet[RunStream] = weakref.WeakSet()
#: The executor modules imported when :func:`_stop_abandoned_streams` was last
#: registered as an exit hook (``None``: not registered yet).
_EXIT_HOOK_AFTER: frozenset[str] | None = None
_POOL_MODULES = ("concurrent.futures.thread", "concurrent.futures.process")


def _stop_abandoned_streams() -> None:
    """At exit, close every stream of this process whose reading thread has ended (the
    main thread, which runs this, among them), as ``break`` does: the replicates not yet
    started are cancelled and the run is stored ``cancelled``. Worker processes forked
    while a stream was read leave it alone."""
    exiting = threading.current_thread()
    pid = os.getpid()
    parallel = sys.modules.get("crystallize.plugins.execution.parallel")
    if parallel is not None:
        parallel.exiting()  # stopped process pools wait for their manager thread
    for stream in list(_READ_STREAMS):
        if stream._reader_pid != pid:  # a forked worker process: the stream is its parent's
            continue
        reader = stream._reader
        if reader is not None and reader is not exiting and reader.is_alive():
            continue  # a thread that is still running may go on reading it
        try:
            stream.close()
        except Exception:  # one run's failing plugin must not stop the others at exit
            logging.getLogger("crystallize").exception("Stopping a stream left unfinished at exit failed")


def _stop_streams_at_exit() -> None:
    """Make sure :func:`_stop_abandoned_streams` runs at exit before ``concurrent.futures``
    waits for every queued replicate of its pools (threading's exit hooks run last
    registered first: it is registered again once a pool module was imported after it)."""
    global _EXIT_HOOK_AFTER
    loaded = frozenset(name for name in _POOL_MODULES if name in sys.modules)
    if _EXIT_HOOK_AFTER is not None and loaded <= _EXIT_HOOK_AFTER:
        return
    register = getattr(threading, "_register_atexit", None) or atexit.register
    with contextlib.suppress(RuntimeError):  # the interpreter is already shutting down
        register(_stop_abandoned_streams)
    _EXIT_HOOK_AFTER = loaded


def refuse_in_bootstrapping_worker(experiment: Experiment) -> None:
    """Refuse to run ``experiment`` in a :mod:`multiprocessing` child that is still
    starting: one importing the main script again (``spawn``, ``forkserver``), which
    reaches ``run()`` only when the script lacks the ``__main__`` guard. Its run would be
    one more stored run per worker process, racing the real one.

    The check is the one :mod:`multiprocessing` makes before starting a process; a
    process that finished starting (a ``Process`` target, a pool worker) may run.
    """
    process = sys.modules.get("multiprocessing.process")  # a child has it imported
    if process is None or not getattr(process.current_process(), "_inheriting", False):
        return
    raise RuntimeError(
        f"Experiment '{experiment.name}' was started by a worker process while it imported the "
        "script that started the run: the script has no if __name__ == \"__main__\": guard, so "
        "each worker process runs it again (under the 'spawn' start method, the default on "
        "macOS and Windows, and 'forkserver'). Nothing was stored for this attempt. Put the "
        "code that builds and runs the experiment under if __name__ == \"__main__\": (steps "
        "and datasources stay at module scope); see docs/execution.md#processes."
    )


def iter_run(
    experiment: Experiment,
    treatments: Iterable[TreatmentLike] | None,
    hypotheses: Iterable[Hypothesis] | None,
    replicates: int | None,
    strategy: str,
    fail_fast: bool = False,
    stream: bool = True,
    lend_rngs: bool = True,
    on_resumed: Callable[[Sequence[ReplicateRecord]], None] | None = None,
) -> Generator[ReplicateRecord, None, Result]:
    """Run an experiment, yielding each record as it arrives; return the Result.

    Closing the generator early cancels the rest of the run (status ``cancelled``).
    With ``stream=False`` nothing is yielded: the first ``next()`` runs everything and
    raises ``StopIteration`` holding the Result (no generator round trip per record).

    While a yielded record is in the consumer's hands, the global random generators hold
    the caller's state, not the run's (see :func:`~crystallize.run_sharing.loop_body_rngs`). That costs about
    25 µs per record, 150-300 µs once ``numpy.random`` is imported (NumPy's state API is
    slow); a consumer whose loop body never draws from them (a progress display) may
    pass ``lend_rngs=False`` to skip it.

    ``on_resumed``, when given, is called once with the records a resumed run found in
    the store (they are not yielded), before any replicate runs; not when there are none.
    """

    refuse_in_bootstrapping_worker(experiment)
    if strategy not in STRATEGIES:
        raise ExperimentValidationError(f"strategy must be 'rerun' or 'resume', got {strategy!r}")
    run_treatments = _chosen_treatments(treatments, experiment.treatments) if treatments is not None else None
    run_hypotheses = list(hypotheses) if hypotheses is not None else None
    # A user's exception leaves through these (LetThrough: even one refusing __traceback__).
    with _running(experiment), LetThrough(paced_gc()), run_overrides(
        experiment, treatments=run_treatments, hypotheses=run_hypotheses, replicates=replicates
    ), contextlib.ExitStack() as at_end:
        experiment.validate()
        sharing = at_end.enter_context(LetThrough(drawing_rngs(experiment)))  # before anything draws
        conditions = [baseline_condition()] + [(t.name, t) for t in experiment.treatments]
        names = [name for name, _ in conditions]
        session = _open_session(experiment, strategy, names)
        # After the base seed was drawn from them: random.seed(n); run() still repeats.
        keeper = keep_callers_rngs(experiment, in_process=sharing is not None)
        at_end.enter_context(keeper)
        callers, run_state = loop_body_rngs(experiment, keeper) if stream and lend_rngs else (None, None)
        from crystallize.reporting_html.config import run_config

        config = run_config(experiment)  # what ran: result.info["config"], stored in the summary
        records: list[ReplicateRecord] = []
        cache_hits = 0
        first_failure: ReplicateRecord | None = None
        all_computed = False  # every pending replicate ran (a Ctrl+C then keeps the Result)
        arriving: Iterator[ReplicateRecord | LiveEvent] | None = None

        def build_result() -> Result:
            info = {
                "fingerprint": session.run.fingerprint if session.run is not None else None,
                "replicates": experiment.replicates,
                "strategy": strategy,
                "resumed": len(session.loaded),
                "computed": len(records) - len(session.loaded),
                "cache_hits": cache_hits,
                "config": config,
                **({"upstream": session.upstream} if session.upstream else {}),
            }
            return make_result(
                experiment, records, names, info,
                run_id=session.run_id,
                warnings=session.warnings,
                full_records=session.full_records if session.steps_left_in_store else None,
            )

        try:  # from here on, whatever goes wrong ends the run (and frees its store)
            keep = session.keep_in_memory
            records = [keep(r) for r in session.loaded]
            watch = HypothesisMetricWatch(experiment.hypotheses, names, session.warn, session.withdraw)
            for loaded in session.loaded:
                watch.see(loaded)
            if on_resumed is not None and session.loaded:
                on_resumed(session.loaded)
            experiment.artifact_location = session.location
            pending = [
                rep for rep in range(experiment.replicates)
                if len(session.done.get(rep, ())) < len(conditions)
            ]
            runner = (_KeepingRunner if fail_fast else ReplicateRunner)(
                experiment, conditions, pending, done=session.done,
                cache=session.cache, location=session.location,
                expected_code=code_digest(experiment, conditions), rng_sharing=sharing,
            )
            dispatch = RecordDispatcher(experiment)
            if dispatch.listens:
                runner.event_sink = dispatch.event
            arriving = iterate_records(experiment, runner, session.warn)
            for item in arriving:
                if isinstance(item, LiveEvent):
                    dispatch.event(item)
                dispatch.raise_failure()  # also from an event sent inside a serial replicate
                if isinstance(item, LiveEvent):
                    continue
                records.append(keep(item))
                session.add(item)
                dispatch(item)
                if not watch.done:
                    watch.see(item)
                if session.cache is not None:
                    cache_hits += sum(step.cache_hit for step in item.steps)
                if fail_fast and item.error is not None:
                    first_failure = item
                    break
                if stream:
                    _stop_streams_at_exit()
                    if callers is None or run_state is None:
                        yield item
                    else:  # the loop body draws from the caller's generators, the run from its own
                        # (the raised gc threshold and the run's logger level stay: process-wide
                        # and shared by runs in flight, they change no result)
                        run_state.pause()
                        callers.resume()
                        try:
                            yield item
                        finally:
                            callers.pause()  # what the loop body drew stays drawn for the caller
                            run_state.resume()
            arriving.close()
            if runner.in_place_warning is not None:  # serial, thread and async execution
                session.warnings.append(runner.in_place_warning)
            overlap = record_overlap(sharing, session)
            if overlap is not None:
                warnings.warn(overlap, RuntimeWarning, stacklevel=user_stacklevel())
            all_computed = first_failure is None
            session.check_code(records)
            result = build_result()
        except BaseException as exc:
            if arriving is not None:
                arriving.close()  # cancel what has not started
            record_overlap(sharing, session)
            _abort(experiment, session, exc, _summary(records, config=config), build_result, all_computed)
            raise
        if first_failure is not None:
            _finish(session, result, "failed", _summary(records, config=config))
            failed = _run_failed(first_failure, result, runner)
            close_plugins(experiment, failed, lambda: ended(result, "failed"))
            raise failed
        return _conclude(experiment, session, result, records, config)


def display_stream(
    experiment: Experiment,
    treatments: Iterable[TreatmentLike] | None = None,
    strategy: str = "rerun",
    on_resumed: Callable[[Sequence[ReplicateRecord]], None] | None = None,
) -> RunStream:
    """``experiment.stream(treatments=..., strategy=...)`` for a consumer that only shows
    the records (the command's progress bars, the terminal UI): its loop body never draws
    from the global random generators, so they are not handed back to it around each
    record (``lend_rngs=False``), which saves 25-300 µs per record. ``on_resumed`` is
    told of the records a resumed run found stored (see :func:`iter_run`)."""
    return RunStream(iter_run(experiment, treatments, None, None, strategy, lend_rngs=False, on_resumed=on_resumed))


def _open_session(experiment: Experiment, strategy: str, names: list[str]) -> RunSession:
    """Start the plugins, then the run's session (the stored run); if the session cannot
    start (the store cannot be opened, a resume is refused...), close the plugins again.
    The seeding plugin's reproducibility warning is recorded with the run."""
    start_plugins(experiment, experiment.plugins, lambda: _empty_result(experiment, names))
    try:
        session = RunSession(experiment, strategy, names)
    except BaseException as exc:
        close_plugins(experiment, exc, lambda: _empty_result(experiment, names))
        raise
    seed_plugin = experiment.get_plugin(SeedPlugin)
    seed_warning = seed_plugin.reproducibility_warning(experiment) if seed_plugin is not None else None
    if seed_warning is not None:  # raised as a RuntimeWarning by before_run; recorded here
        session.warnings.append(seed_warning)
    return session


def _abort(
    experiment: Experiment,
    session: RunSession,
    exc: BaseException,
    summary: dict[str, Any],
    build_result: Callable[[], Result],
    all_computed: bool,
) -> None:
    """End a run that raised ``exc`` while its replicates ran: store how it ended, keep
    the Result on a Ctrl+C that came after the last replicate, close the plugins."""
    how = status_of(exc)
    session.finish(how, summary=summary)
    if all_computed and isinstance(exc, KeyboardInterrupt):
        with contextlib.suppress(Exception):
            _keep_result(exc, build_result(), "after the last replicate")
    close_plugins(experiment, exc, lambda: ended(build_result(), how))


def _conclude(
    experiment: Experiment, session: RunSession, result: Result, records: list[ReplicateRecord], config: Any
) -> Result:
    """Verify the hypotheses of a run whose replicates all arrived, store how it ended
    and call ``after_run``. The run is ``completed`` even when a hypothesis raises (every
    replicate is stored; that error is raised after), ``cancelled`` on a Ctrl+C before
    the verdicts (a resume computes them)."""
    status = "completed"
    unverified: BaseException | None = None
    try:
        result.metrics.hypotheses = verify_hypotheses(experiment.hypotheses, result)
    except BaseException as exc:
        unverified = exc
        if isinstance(exc, KeyboardInterrupt):
            status = "cancelled"
    _finish(session, result, status, _summary(records, result.metrics.hypotheses, config))
    if unverified is not None:
        _note_unverified(unverified, result)
        close_plugins(experiment, unverified, lambda: ended(result, status))
        raise unverified
    call_after_run(experiment, result)
    return result


def make_result(
    experiment: Experiment,
    records: list[ReplicateRecord],
    conditions: list[str],
    info: dict[str, Any],
    **fields: Any,
) -> Result:
    """The :class:`Result` of ``experiment``'s ``records`` over ``conditions`` (baseline
    first), with ``info`` and the base seed of its :class:`SeedPlugin` (``None``
    without one); ``fields`` are further Result arguments (``run_id``, ``warnings``,
    ``full_records``)."""
    seed_plugin = experiment.get_plugin(SeedPlugin)
    base_seed = seed_plugin.base_seed if seed_plugin is not None else None
    return Result(records, conditions, experiment=experiment.name, base_seed=base_seed, info=info, **fields)


def _chosen_treatments(treatments: Iterable[TreatmentLike] | TreatmentLike, known: Iterable[Treatment]) -> list[Treatment]:
    """The treatments a run was asked for: a list, or one treatment or name on its own.

    ``"baseline"`` may be listed but adds nothing: the baseline always runs.
    """
    from crystallize.experiment import as_list, as_treatment

    known = list(known)
    chosen = as_list(treatments, "treatments", "['name', ...]")
    return [as_treatment(t, known) for t in chosen if not (isinstance(t, str) and t == BASELINE)]


def _empty_result(experiment: Experiment, names: list[str]) -> Result:
    """The Result ``after_run`` gets when a run raised before any record arrived."""
    return ended(Result([], names, experiment=experiment.name), "failed")


class _KeepingRunner(ReplicateRunner):
    """A runner that keeps the exception of each failed condition × replicate it ran in
    this process, for ``fail_fast`` to chain (``{(condition, replicate): exception}``).

    Process and Ray workers unpickle it without that dict (the runner pickles only its
    own fields) and keep nothing: there, only the record's traceback text comes back.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exceptions: dict[tuple[str, int], BaseException] = {}

    def run_condition(self, condition: str, treatment: Treatment | None, replicate: int) -> ReplicateOutcome:
        """Run one (condition, replicate) synchronously; keep its exception."""
        return self._keep(super().run_condition(condition, treatment, replicate))

    async def arun_condition(self, condition: str, treatment: Treatment | None, replicate: int) -> ReplicateOutcome:
        """Run one (condition, replicate), awaiting async steps; keep its exception."""
        return self._keep(await super().arun_condition(condition, treatment, replicate))

    def with_event_sink(self, sink: Callable[[Any], None] | None) -> ReplicateRunner:
        """A copy sending live events to ``sink`` that keeps exceptions in the same dict."""
        clone = super().with_event_sink(sink)
        clone.exceptions = self.exceptions  # the copy is rebuilt from the runner's fields only
        return clone

    def _keep(self, outcome: ReplicateOutcome) -> ReplicateOutcome:
        kept = getattr(self, "exceptions", None)  # None in a worker process
        if kept is not None and outcome.exception is not None:
            kept[(outcome.record.condition, outcome.record.replicate)] = outcome.exception
        return outcome


def _run_failed(record: ReplicateRecord, result: Result, runner: ReplicateRunner) -> RunFailedError:
    """The ``RunFailedError`` for ``fail_fast``'s first failed ``record``: caused by the
    step's own exception when it was raised in this process, else with a note holding the
    traceback the worker stored."""
    error = RunFailedError(record.error, result)
    kept = getattr(runner, "exceptions", {})
    cause = kept.get((record.condition, record.replicate))
    if cause is not None:
        error.__cause__ = cause
    elif record.error is not None and record.error.traceback:
        add_note_safely(error, f"The replicate's traceback (it ran in a worker process):\n{record.error.traceback.rstrip()}")
    return error


def _note_unverified(exc: BaseException, result: Result) -> None:
    """Tell what is kept when verifying the hypotheses raised ``exc`` (every replicate ran)
    and attach the Result as ``.result``; a Ctrl+C says how to resume."""
    if isinstance(exc, KeyboardInterrupt):
        _keep_result(exc, result, "while its hypotheses were being verified")
        return
    if "store_error" in result.info:
        kept = f"its records could not all be stored ({result.info['store_error']})"
    elif result.run_id is not None:
        kept = f"the run is stored as completed (run {result.run_id}) without hypothesis verdicts"
    else:
        kept = "nothing was stored (the experiment keeps no run store)"
    add_note_safely(
        exc,
        f"Raised while the hypotheses were verified: every replicate ran and {kept}. "
        "The Result (every record, no verdicts) is attached to this exception as .result."
    )
    attach_result(exc, result)


#: The keys of ``result.info`` saying how the call to ``run()`` went, kept in the stored
#: summary (``summary["call"]``) so a loaded Result has them too.
CALL_INFO = ("strategy", "resumed", "computed", "cache_hits")


def _finish(session: RunSession, result: Result, status: str, summary: dict[str, Any]) -> None:
    """End the stored run, keeping how this call went (:data:`CALL_INFO`) in its summary;
    a failure to write its last records (which happens here) shows in the Result:
    ``result.warnings`` and ``result.info["store_error"]``.

    Ctrl+C while they are written is re-raised with the Result attached as ``.result``:
    everything was computed, and only the store may miss some of it.
    """
    call = {key: result.info[key] for key in CALL_INFO if key in result.info}
    try:
        session.finish(status, summary={**summary, "call": call})
    except KeyboardInterrupt as exc:
        if getattr(exc, "result", None) is None:
            _keep_result(exc, result, "while it was being stored")
        raise
    result.warnings = list(session.warnings)
    if session.store_error is not None:
        result.info["store_error"] = session.store_error


def _keep_result(exc: KeyboardInterrupt, result: Result, when: str) -> None:
    """Attach the computed ``result`` to a Ctrl+C that came after every replicate ran,
    with a note saying the run is stored cancelled and how to complete it."""
    stored = (
        f"run {result.run_id} is stored as cancelled and run(strategy='resume') completes it"
        if "store_error" not in result.info
        else f"run {result.run_id} could not be stored in full ({result.info['store_error']})"
    )
    add_note_safely(exc, f"Interrupted {when}: {stored}. The computed Result is attached to this exception as .result.")
    attach_result(exc, result)


def _summary(
    records: list[ReplicateRecord],
    hypotheses: Iterable[HypothesisResult] = (),
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run's stored summary: record and error counts, verdicts and ``config``
    (:func:`~crystallize.reporting_html.config.run_config`, ``result.info["config"]``)."""
    return {
        "records": len(records),
        "errors": sum(1 for r in records if r.error is not None),
        "hypotheses": [h.to_dict() for h in hypotheses],
        "config": config,
    }


def apply_once(
    experiment: Experiment,
    treatment: TreatmentLike | None,
    data: Any,
    seed: int | None,
    use_data: bool,
) -> Any:
    """Implementation of :meth:`Experiment.apply`.

    One condition × replicate with the whole plugin lifecycle of a run — ``before_run``,
    the worker hooks, ``on_replicate_end`` and ``after_run`` (with a :class:`Result` of
    that one record) — while the experiment looks like a one-replicate run of the chosen
    condition. Nothing is stored. A step's exception is raised after ``after_run``.
    """
    from crystallize.experiment import as_treatment

    if seed is not None:
        from crystallize.plugins.seed import SEED_MODULUS, check_seed

        seed = check_seed(seed, "apply() seed") % SEED_MODULUS  # as a base seed is
    chosen = as_treatment(treatment, experiment.treatments) if treatment is not None else None
    condition = (chosen.name, chosen) if chosen is not None else baseline_condition()
    names = [baseline_condition()[0]] + ([condition[0]] if chosen is not None else [])
    with running_as("apply"), run_overrides(
        experiment, treatments=[chosen] if chosen is not None else [], hypotheses=[], replicates=1
    ):
        # Checked as run() checks its own: with the chosen treatment in place (one not in
        # experiment.treatments too); with data=, no datasource is called.
        experiment._validate(datasource_required=not use_data)
        execution = experiment.execution_plugin  # not used: the replicate runs right here
        start_plugins(
            experiment, [p for p in experiment.plugins if p is not execution], lambda: _empty_result(experiment, names)
        )
        records: list[ReplicateRecord] = []

        def build_result() -> Result:
            info = {"replicates": 1, "strategy": "apply", "computed": len(records)}
            return make_result(experiment, records, names, info)

        # As in run(): after before_run drew a seed=None base seed from them.
        with keep_callers_rngs(experiment):
            try:
                with scratch_location(experiment.name) as location, upstreams_pinned(experiment):
                    runner = ReplicateRunner(
                        experiment, [condition], [0], seed=seed, data=data, use_data=use_data, location=location
                    )
                    dispatch = RecordDispatcher(experiment)
                    if dispatch.listens:
                        runner.event_sink = dispatch.event
                    outcome = runner.run_condition(condition[0], condition[1], 0)
                records.append(outcome.record)
                dispatch.raise_failure()
                dispatch(outcome.record)
            except BaseException as exc:
                how = status_of(exc)
                close_plugins(experiment, exc, lambda: ended(build_result(), how))
                raise
            result = build_result()
            call_after_run(experiment, result if outcome.exception is None else ended(result, "failed"))
    if outcome.exception is not None:
        error = outcome.record.error
        add_note_safely(
            outcome.exception, f"Raised by experiment.apply() in condition '{error.condition}', step '{error.step}'."
        )
        raise outcome.exception
    return outcome.data


__all__ = [
    "RunStream",
    "apply_once",
    "display_stream",
    "is_running",
    "iter_run",
    "make_result",
    "run_experiment",
    "verify_hypotheses",
]
