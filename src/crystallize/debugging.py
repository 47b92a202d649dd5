"""``experiment.debug()``: one replicate, serial and verbose, for finding out what happens."""

from __future__ import annotations

import contextlib
import copy
from typing import TYPE_CHECKING, Any

from crystallize.artifacts import scratch_location
from crystallize.plugins.hookspec import BasePlugin

if TYPE_CHECKING:
    from rich.console import Console

    from crystallize.experiment import Experiment, TreatmentLike


def summarize(value: Any, width: int = 60) -> str:
    """A one-line description of ``value``: its type, shape or length, and a short repr."""
    kind = type(value).__name__
    shape = getattr(value, "shape", None)
    if shape is not None:
        kind += f" shape={tuple(shape)}"
    elif hasattr(value, "__len__") and not isinstance(value, str | bytes):
        with contextlib.suppress(TypeError):
            kind += f" len={len(value)}"
    text = " ".join(repr(value).split())
    if len(text) > width:
        text = text[: width - 3] + "..."
    return f"{kind}: {text}"


class _RecordingSource:
    """Wraps a datasource to keep what it returned (for the debug table)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.params = getattr(inner, "params", {})
        self.name = getattr(inner, "name", type(inner).__name__)
        self.data: Any = None

    def fetch(self, ctx: Any) -> Any:
        data = self.inner.fetch(ctx)
        if hasattr(data, "__await__"):
            return self._await(data)
        self.data = data
        return data

    async def _await(self, awaitable: Any) -> Any:
        self.data = await awaitable
        return self.data


class _Tracer(BasePlugin):
    """Keeps each step's output, in the order the steps ran."""

    def __init__(self) -> None:
        self.outputs: list[Any] = []

    def after_step(self, experiment: Any, step: Any, data: Any, ctx: Any) -> None:
        self.outputs.append(data)


def _debug_result(experiment: Experiment, records: list[Any], condition: str, session: Any) -> Any:
    """The one-record Result every plugin's ``after_run`` gets, as in ``apply()``; a
    replicate that failed has ``info["status"] == "failed"``."""
    from crystallize.engine import make_result

    info: dict[str, Any] = {"replicates": 1, "strategy": "debug", "computed": len(records)}
    if any(record.error is not None for record in records):
        info["status"] = "failed"
    conditions = sorted({"baseline", condition}, key=lambda c: c != "baseline")
    return make_result(experiment, records, conditions, info, run_id=session.run_id if session is not None else None)


def _run_replicate(
    traced: Experiment, condition: tuple[str, Any], replicate: int, session: Any, dispatch: Any
) -> Any:
    """Run the replicate serially, here, its live events going to ``dispatch`` (the
    plugins' ``on_event``, as in ``apply()``); artifacts go to the stored run's folder, or
    to a scratch folder deleted afterwards when nothing is stored."""
    from crystallize.replicate import ReplicateRunner

    with contextlib.ExitStack() as scratch:
        location = session.location if session else scratch.enter_context(scratch_location(traced.name))
        runner = ReplicateRunner(traced, [condition], [replicate], location=location)
        if dispatch.listens:
            runner.event_sink = dispatch.event
        return runner.run_condition(condition[0], condition[1], replicate)


def _run_traced(
    experiment: Experiment, traced: Experiment, condition: tuple[str, Any], replicate: int, store: bool
) -> tuple[Any, Any]:
    """Run the replicate between the plugins' ``before_run`` and ``after_run``; return
    ``(outcome, session)`` (``session`` is ``None`` unless ``store``).

    As in ``apply()``, the execution plugin is not started (the replicate runs here,
    serially) and every ``before_run`` gets its ``after_run`` however the replicate ends
    (a failing ``before_run``, Ctrl+C, a hook raising); as in ``run()``, the run is stored
    only once every plugin has started.
    """
    from crystallize.dispatch import RecordDispatcher
    from crystallize.lifecycle import call_after_run, close_plugins, ended, start_plugins, status_of
    from crystallize.run_sharing import keep_callers_rngs

    records: list[Any] = []
    session = None

    def make_result() -> Any:
        return _debug_result(experiment, records, condition[0], session)

    execution = experiment.execution_plugin  # not used: the replicate runs right here
    plugins = [p for p in experiment.plugins if p is not execution]
    start_plugins(traced, plugins, lambda: ended(make_result(), "failed"))
    # The caller's random generators come back as they were, as after run() (after
    # before_run drew a seed=None base seed from them).
    with keep_callers_rngs(traced):
        try:
            if store:
                from crystallize.session import RunSession

                session = RunSession(traced, "rerun", [condition[0]])
            from crystallize.upstream_pins import upstreams_pinned

            # A stored debug run's session pinned its upstream outputs already.
            dispatch = RecordDispatcher(traced)
            with upstreams_pinned(experiment) if session is None else contextlib.nullcontext():
                outcome = _run_replicate(traced, condition, replicate, session, dispatch)
            records.append(outcome.record)
            if session is not None:
                session.add(outcome.record)
            dispatch.raise_failure()  # an on_event hook that raised, as in apply()
            dispatch(outcome.record)  # on_replicate_end: e.g. MLflow's child run
        except BaseException as exc:
            how = status_of(exc)
            if session is not None:
                session.finish(how)
            close_plugins(traced, exc, lambda: ended(make_result(), how))
            raise
        if session is not None:
            session.finish("completed" if outcome.record.error is None else "failed")
        call_after_run(traced, make_result())
    return outcome, session


def debug_replicate(
    experiment: Experiment,
    treatment: TreatmentLike | None = None,
    replicate: int = 0,
    store: bool = False,
    console: Console | None = None,
) -> Any:
    """Implementation of :meth:`Experiment.debug`."""
    from rich.console import Console
    from rich.table import Table

    from crystallize.experiment import as_treatment
    from crystallize.lifecycle import running_as
    from crystallize.replicate import baseline_condition

    if isinstance(replicate, bool) or not isinstance(replicate, int) or replicate < 0:
        raise ValueError(f"debug(replicate=...) must be a replicate index (an int >= 0), got {replicate!r}")
    chosen = as_treatment(treatment, experiment.treatments) if treatment is not None else None
    condition = (chosen.name, chosen) if chosen is not None else baseline_condition()
    narrowed = copy.copy(experiment)  # checked as apply() checks: the one condition it runs
    narrowed.treatments = [chosen] if chosen is not None else []
    with running_as("debug"):
        narrowed.validate()
    tracer = _Tracer()
    traced = copy.copy(experiment)
    traced.plugins = [*experiment.plugins, tracer]
    # What plugins see (before_run's settings, an MLflow parent run): this one condition
    # and the replicates up to the one debugged, not the whole experiment.
    traced.treatments = [chosen] if chosen is not None else []
    traced.replicates = replicate + 1
    source = traced.datasource = _RecordingSource(experiment.datasource)
    with running_as("debug"):  # plugins (logging, MLflow) tell a debug() from a run
        outcome, session = _run_traced(experiment, traced, condition, replicate, store)
    record = outcome.record

    out = console or Console()
    width = max(30, (out.width - 40) // 3)
    out.print(
        f"[bold]{experiment.name}[/] debug: condition [cyan]{condition[0]}[/], replicate "
        f"{replicate}, seed {record.seed}" + (f", stored as run {session.run_id}" if session else "")
    )
    table = Table("step", "ms", "input", "output", "metrics", "context added", show_lines=True)
    previous = source.data
    for index, step in enumerate(record.steps):
        output = tracer.outputs[index] if index < len(tracer.outputs) else None
        table.add_row(
            step.name + (" (cache hit)" if step.cache_hit else ""),
            f"{step.duration * 1e3:.2f}",
            summarize(previous, width),
            summarize(output, width),
            ", ".join(f"{k}={v}" for k, v in step.metrics.items()) or "-",
            ", ".join(step.ctx_writes) or "-",
        )
        previous = output
    out.print(table)
    if record.error is not None:
        out.print(f"[red]Failed in {record.error.step}: {record.error.exception_type}: {record.error.message}[/]")
        out.print(record.error.traceback)
    else:
        out.print(f"Metrics: {record.metrics}")
    return outcome.data


__all__ = ["debug_replicate", "summarize"]
