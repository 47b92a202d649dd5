"""The driver: runs an experiment's replicates through its execution plugin.

Everything here happens in the calling process. Replicates themselves run inside
:class:`~crystallize.replicate.ReplicateRunner`, wherever the execution plugin puts them;
their records come back here, where driver hooks see them one by one and the Result is
assembled.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from crystallize.arrivals import iterate_records
from crystallize.artifacts import scratch_location
from crystallize.dispatch import RecordDispatcher, hook_name
from crystallize.events import LiveEvent
from crystallize.exceptions import (
    ExperimentBusyError,
    ExperimentValidationError,
    MissingMetricError,
    RunFailedError,
)
from crystallize.hypothesis import Hypothesis, HypothesisResult
from crystallize.plugins.seed import SeedPlugin
from crystallize.record import ReplicateRecord
from crystallize.replicate import ReplicateRunner, baseline_condition, code_digest
from crystallize.result import Result
from crystallize.session import RunSession
from crystallize.treatment import BASELINE, Treatment
from crystallize.utils.gc_pacing import paced_gc

if TYPE_CHECKING:
    from crystallize.experiment import Experiment, TreatmentLike

STRATEGIES = ("rerun", "resume")


@contextlib.contextmanager
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


@contextlib.contextmanager
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
            verdicts.append(HypothesisResult(hyp.name, {}, [], {}, hyp.metrics, hyp.correction, why))
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
    keeps the finished ones in the store and marks the run ``cancelled``.
    """

    def __init__(self, run: Generator[ReplicateRecord, None, Result]) -> None:
        self._run = run
        self.result: Result | None = None

    def __iter__(self) -> Iterator[ReplicateRecord]:
        self.result = yield from self._run

    def close(self) -> None:
        """Stop the run now (what finished is kept)."""
        self._run.close()


def iter_run(
    experiment: Experiment,
    treatments: Iterable[TreatmentLike] | None,
    hypotheses: Iterable[Hypothesis] | None,
    replicates: int | None,
    strategy: str,
    fail_fast: bool = False,
    stream: bool = True,
) -> Generator[ReplicateRecord, None, Result]:
    """Run an experiment, yielding each record as it arrives; return the Result.

    Closing the generator early cancels the rest of the run (status ``cancelled``).
    With ``stream=False`` nothing is yielded: the first ``next()`` runs everything and
    raises ``StopIteration`` holding the Result (no generator round trip per record).
    """

    if strategy not in STRATEGIES:
        raise ExperimentValidationError(f"strategy must be 'rerun' or 'resume', got {strategy!r}")
    run_treatments = _chosen_treatments(treatments, experiment.treatments) if treatments is not None else None
    run_hypotheses = list(hypotheses) if hypotheses is not None else None
    with _running(experiment), paced_gc(), run_overrides(
        experiment, treatments=run_treatments, hypotheses=run_hypotheses, replicates=replicates
    ):
        experiment.validate()
        for plugin in experiment.plugins:
            plugin.before_run(experiment)
        conditions = [baseline_condition()] + [(t.name, t) for t in experiment.treatments]
        names = [name for name, _ in conditions]
        session = RunSession(experiment, strategy, names)
        records: list[ReplicateRecord] = []
        cache_hits = 0
        first_failure: ReplicateRecord | None = None
        all_computed = False  # every pending replicate ran (a Ctrl+C then keeps the Result)
        arriving: Iterator[ReplicateRecord | LiveEvent] | None = None

        def build_result() -> Result:
            seed_plugin = experiment.get_plugin(SeedPlugin)
            return Result(
                records,
                names,
                experiment=experiment.name,
                run_id=session.run_id,
                base_seed=seed_plugin.base_seed if seed_plugin else None,
                info={
                    "fingerprint": session.run.fingerprint if session.run is not None else None,
                    "replicates": experiment.replicates,
                    "strategy": strategy,
                    "resumed": len(session.loaded),
                    "computed": len(records) - len(session.loaded),
                    "cache_hits": cache_hits,
                },
                warnings=session.warnings,
                full_records=session.full_records if session.steps_left_in_store else None,
            )

        try:  # from here on, whatever goes wrong ends the run (and frees its store)
            keep = session.keep_in_memory
            records = [keep(r) for r in session.loaded]
            experiment.artifact_location = session.location
            pending = [
                rep for rep in range(experiment.replicates)
                if len(session.done.get(rep, ())) < len(conditions)
            ]
            runner = ReplicateRunner(
                experiment, conditions, pending, done=session.done,
                cache=session.cache, location=session.location,
                expected_code=code_digest(experiment, conditions),
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
                if session.cache is not None:
                    cache_hits += sum(step.cache_hit for step in item.steps)
                if fail_fast and item.error is not None:
                    first_failure = item
                    break
                if stream:
                    yield item
            arriving.close()
            all_computed = first_failure is None
            session.check_code(records)
            result = build_result()
        except BaseException as exc:
            if arriving is not None:
                arriving.close()  # cancel what has not started
            cancelled = isinstance(exc, KeyboardInterrupt | GeneratorExit)
            session.finish("cancelled" if cancelled else "failed", summary=_summary(records))
            if all_computed and isinstance(exc, KeyboardInterrupt):  # Ctrl+C after the last replicate
                with contextlib.suppress(Exception):
                    _keep_result(exc, build_result(), "after the last replicate")
            if isinstance(exc, GeneratorExit):  # a stream left early: a deliberate stop
                with contextlib.suppress(Exception):  # plugins close what before_run opened
                    call_after_run(experiment, build_result())
            raise
        if first_failure is not None:
            _finish(session, result, "failed", _summary(records))
            call_after_run(experiment, result)  # plugins close what before_run opened
            raise RunFailedError(first_failure.error, result)
        status = "completed"  # also when a hypothesis raises: every replicate is stored
        try:
            result.metrics.hypotheses = verify_hypotheses(experiment.hypotheses, result)
        except KeyboardInterrupt as exc:
            status = "cancelled"  # no verdicts yet: a resume computes them
            _keep_result(exc, result, "while its hypotheses were being verified")
            raise
        finally:
            _finish(session, result, status, _summary(records, result.metrics.hypotheses))
        call_after_run(experiment, result)
    return result


def _chosen_treatments(treatments: Iterable[TreatmentLike] | TreatmentLike, known: Iterable[Treatment]) -> list[Treatment]:
    """The treatments a run was asked for: a list, or one treatment or name on its own.

    ``"baseline"`` may be listed but adds nothing: the baseline always runs.
    """
    from crystallize.experiment import as_list, as_treatment

    known = list(known)
    chosen = as_list(treatments, "treatments", "['name', ...]")
    return [as_treatment(t, known) for t in chosen if not (isinstance(t, str) and t == BASELINE)]


def call_after_run(experiment: Experiment, result: Result) -> None:
    """Call every plugin's ``after_run``, even when one raises; the first exception is
    raised at the end with the Result attached (and notes naming any later ones)."""
    first: Exception | None = None
    for plugin in experiment.plugins:
        try:
            plugin.after_run(experiment, result)
        except Exception as exc:
            if first is not None:
                first.add_note(
                    f"The plugin hook {hook_name(plugin.after_run)} also raised "
                    f"{type(exc).__name__}: {exc}"
                )
                continue
            first = exc
            stored = f" and is stored as run {result.run_id}" if result.run_id else ""
            exc.add_note(
                f"Raised by the plugin hook {hook_name(plugin.after_run)}. The run itself "
                f"completed{stored}; its Result is attached to this exception as .result."
            )
            with contextlib.suppress(AttributeError):  # an exception class with __slots__
                exc.result = result  # type: ignore[attr-defined]
    if first is not None:
        raise first


def _finish(session: RunSession, result: Result, status: str, summary: dict[str, Any]) -> None:
    """End the stored run; a failure to write its last records (which happens here)
    shows in the Result: ``result.warnings`` and ``result.info["store_error"]``.

    Ctrl+C while they are written is re-raised with the Result attached as ``.result``:
    everything was computed, and only the store may miss some of it.
    """
    try:
        session.finish(status, summary=summary)
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
    exc.add_note(f"Interrupted {when}: {stored}. The computed Result is attached to this exception as .result.")
    exc.result = result  # type: ignore[attr-defined]


def _summary(records: list[ReplicateRecord], hypotheses: Iterable[HypothesisResult] = ()) -> dict[str, Any]:
    return {
        "records": len(records),
        "errors": sum(1 for r in records if r.error is not None),
        "hypotheses": [h.to_dict() for h in hypotheses],
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

    experiment._validate(datasource_required=not use_data)  # with data=, none is called
    if seed is not None:
        from crystallize.plugins.seed import check_seed

        seed = check_seed(seed, "apply() seed")
    chosen = as_treatment(treatment, experiment.treatments) if treatment is not None else None
    condition = (chosen.name, chosen) if chosen is not None else baseline_condition()
    with run_overrides(experiment, treatments=[chosen] if chosen is not None else [], hypotheses=[], replicates=1):
        execution = experiment.execution_plugin  # not used: the replicate runs right here
        for plugin in experiment.plugins:
            if plugin is not execution:
                plugin.before_run(experiment)
        with scratch_location(experiment.name) as location:  # artifacts written, not kept
            runner = ReplicateRunner(
                experiment, [condition], [0], seed=seed, data=data, use_data=use_data, location=location
            )
            dispatch = RecordDispatcher(experiment)
            if dispatch.listens:
                runner.event_sink = dispatch.event
            outcome = runner.run_condition(condition[0], condition[1], 0)
        dispatch.raise_failure()
        dispatch(outcome.record)
        seed_plugin = experiment.get_plugin(SeedPlugin)
        result = Result(
            [outcome.record],
            [baseline_condition()[0]] + ([condition[0]] if chosen is not None else []),
            experiment=experiment.name,
            base_seed=seed_plugin.base_seed if seed_plugin else None,
            info={"replicates": 1, "strategy": "apply", "computed": 1},
        )
        call_after_run(experiment, result)
    if outcome.exception is not None:
        raise outcome.exception
    return outcome.data


__all__ = [
    "RecordDispatcher",
    "RunStream",
    "apply_once",
    "call_after_run",
    "is_running",
    "iter_run",
    "iterate_records",
    "run_experiment",
    "verify_hypotheses",
]
