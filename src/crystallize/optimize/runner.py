"""The optimization loop: ask, run the experiment on the proposal, tell the objective."""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from crystallize.cli.shell import command_line
from crystallize.exceptions import CrystallizeError, ExperimentValidationError, MissingMetricError
from crystallize.optimize.base import (
    BaseOptimizer,
    OptimizationResult,
    SearchExhausted,
    Trial,
    check_direction,
    is_better,
)
from crystallize.plugins.artifacts import ArtifactPlugin
from crystallize.treatment import Treatment

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.record import ReplicateError
    from crystallize.result import Result

logger = logging.getLogger("crystallize")

#: How many run ids the error of a search whose every trial failed lists.
_SHOWN_RUNS = 3


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _recorded(result: Result) -> list[str]:
    from crystallize.reporting_html.summary import metric_names

    return metric_names(result)


def _resolve_metric(optimizer: BaseOptimizer, result: Result) -> str:
    """The objective metric: the optimizer's, else the only metric the run recorded."""
    if optimizer.metric is not None:
        return optimizer.metric
    recorded = _recorded(result)
    if len(recorded) != 1:
        known = ", ".join(recorded) or "none"
        raise ValueError(
            f"optimize() needs to know which metric to optimize; the experiment records: {known}. "
            "Pass metric=... to optimize() or to the optimizer."
        )
    optimizer.configure(metric=recorded[0])
    return recorded[0]


def trial_objective(result: Result, condition: str, metric: str) -> float:
    """Mean of ``metric`` over ``condition``'s replicates in ``result``.

    Returns NaN when the condition has no value for the metric because replicates
    failed.

    Raises:
        MissingMetricError: no condition recorded ``metric`` and no replicate failed, so
            the name is wrong; the message lists the recorded metrics.
        ValueError: the metric's values are not numbers.
    """
    cm = result.metrics.treatments.get(condition)
    values = cm.metrics.get(metric, []) if cm is not None else []
    if not values:
        recorded = _recorded(result)
        if metric not in recorded and not result.errors:
            known = ", ".join(recorded) or "none"
            raise MissingMetricError(
                f"optimize() reads metric '{metric}', but the experiment recorded no such metric "
                f"(recorded: {known})."
            )
        return math.nan
    try:
        return statistics.fmean(float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(
            f"optimize() needs numeric values of metric '{metric}', got {values[:3]!r}"
        ) from None


def _all_failed(
    experiment: Experiment, trials: list[Trial], metric: str, error: ReplicateError | None
) -> str:
    """The error message of a search whose every trial failed: the first trial's first
    error (``error``), the trials' run ids and how to look at them."""
    message = f"No trial produced a value of {metric}: all {len(trials)} trial(s) failed"
    message += f" (the first with {error})." if error is not None else "."
    run_ids = [t.run_id for t in trials if t.run_id is not None]
    if not run_ids:
        return message + (
            " The runs were not stored (the ArtifactPlugin has root_dir=None): run a trial's "
            "values with experiment.run() and read result.errors to see why."
        )
    shown = ", ".join(run_ids[:_SHOWN_RUNS])
    if len(run_ids) > _SHOWN_RUNS:
        shown += f" and {len(run_ids) - _SHOWN_RUNS} more"
    plugin = experiment.get_plugin(ArtifactPlugin)
    root = str(plugin.root_dir) if plugin is not None else "data"
    default = Path(root) == Path("data")
    option = [] if default else ["--root", root]
    argument = "" if default else f", {root!r}"
    command = command_line(["crystallize", "show", experiment.name, "--run", run_ids[0], *option, "--tracebacks"])
    return (
        f"{message} Each trial is a stored run ({shown}); see a run's errors with: "
        f"{command}, "
        f"or crystallize.store.load_result(run_id{argument}).errors."
    )


def _refuse_unread(experiment: Experiment, trial: Treatment) -> None:
    """Raise ExperimentValidationError when a proposed key is certainly read by nothing:
    every trial would run like the baseline, wasting the whole search."""
    from crystallize.unread_values import unread_values

    problems = unread_values(experiment, trial, owner="optimize(): the search space sets '{key}'")
    if problems:
        raise ExperimentValidationError(
            "; ".join(problems) + ". Fix the search space (this trial was not run)."
        )


def optimize(
    experiment: Experiment,
    optimizer: BaseOptimizer,
    num_trials: int | None,
    replicates_per_trial: int,
    metric: str | None = None,
    direction: str | None = None,
) -> OptimizationResult:
    """Search the context values that optimize a metric of ``experiment``.

    Each trial asks ``optimizer`` for values, runs them as ``Treatment("trial_<i>",
    values)`` with ``experiment.run(treatments=[trial], replicates=replicates_per_trial)``
    (the baseline runs alongside, and the experiment's hypotheses compare the trial with
    it; each trial is a stored run), and tells the optimizer the mean of ``metric`` over
    the trial's replicates. A trial whose replicates all failed gets a NaN objective
    and never wins.

    Args:
        experiment: the experiment to optimize; its own treatments are not run.
        optimizer: a :class:`~crystallize.optimize.BaseOptimizer` (grid, random, Optuna…).
        num_trials: how many trials to run at most; ``None`` runs a finite optimizer
            (e.g. a grid) until it is exhausted.
        replicates_per_trial: replicates of each trial (more replicates, less noise).
        metric: the objective metric, if the optimizer does not name it; with neither,
            the experiment must record exactly one metric.
        direction: ``"minimize"`` or ``"maximize"``, if the optimizer does not say.

    Returns:
        An :class:`~crystallize.optimize.OptimizationResult` with the best treatment, its
        objective and every trial ``(values, objective, run_id)``.

    Raises:
        ValueError: invalid counts, no direction, a metric/direction contradicting the
            optimizer's, an ambiguous metric, or non-numeric metric values.
        ExperimentValidationError: a proposed key that nothing in the experiment can
            read (see :func:`crystallize.unread_values.unread_values`), raised before that
            trial runs.
        MissingMetricError: the metric is recorded by no condition.
        CrystallizeError: the optimizer proposed nothing (e.g. a finished grid), or no
            trial produced the metric (every replicate failed); the message then gives the
            first trial's error and the trials' run ids, with the ``crystallize show``
            command that prints their errors.
    """
    if not isinstance(optimizer, BaseOptimizer):
        hint = (
            " (a search space: wrap it, e.g. GridSearchOptimizer({...}) or RandomSearchOptimizer({...}))"
            if isinstance(optimizer, Mapping) else ""
        )
        raise TypeError(f"optimize() needs an optimizer, got {type(optimizer).__name__} {optimizer!r}{hint}")
    if num_trials is None:
        if not hasattr(optimizer, "size"):
            raise ValueError(
                f"num_trials=None runs until the optimizer is exhausted, but "
                f"{type(optimizer).__name__} never is; give num_trials"
            )
    else:
        _positive_int(num_trials, "num_trials")
    _positive_int(replicates_per_trial, "replicates_per_trial")
    optimizer.configure(metric=metric, direction=direction)
    if optimizer.direction is None:
        raise ValueError(
            "optimize() needs a direction: pass direction='minimize' or 'maximize' to "
            "optimize() or to the optimizer"
        )
    chosen_direction = check_direction(optimizer.direction)
    trials: list[Trial] = []
    best_index: int | None = None
    first_error: ReplicateError | None = None
    index = 0
    while num_trials is None or index < num_trials:
        try:
            values = optimizer.ask()
        except SearchExhausted as exhausted:
            if index == 0:
                raise CrystallizeError(f"The optimizer proposed no trial: {exhausted}") from None
            logger.info("Optimizer exhausted after %d trial(s)", index)
            break
        treatment = Treatment(f"trial_{index}", values)
        try:
            _refuse_unread(experiment, treatment)
            result = experiment.run(treatments=[treatment], replicates=replicates_per_trial)
            objective_metric = _resolve_metric(optimizer, result)
            objective = trial_objective(result, treatment.name, objective_metric)
        except BaseException:
            optimizer.abandon(values)  # no trial is left open in the optimizer (a stored study)
            raise
        optimizer.tell(values, objective)
        if index == 0:
            first_error = next((e for e in result.errors if e.condition == treatment.name), None)
        trials.append(Trial(dict(values), objective, result.run_id))
        if best_index is None or is_better(objective, trials[best_index].objective, chosen_direction):
            best_index = index
        logger.info(
            "Trial %d %r: %s = %.6g (run %s)", index, values, objective_metric, objective, result.run_id
        )
        index += 1
    assert best_index is not None  # num_trials >= 1, and exhaustion at trial 0 raised above
    if math.isnan(trials[best_index].objective):
        raise CrystallizeError(_all_failed(experiment, trials, optimizer.metric or "the metric", first_error))
    best = trials[best_index]
    return OptimizationResult(
        best_treatment=Treatment(f"trial_{best_index}", best.values),
        best_value=best.objective,
        trials=trials,
        metric=str(optimizer.metric),
        direction=chosen_direction,
    )


__all__ = ["optimize", "trial_objective"]
