"""The ask/tell optimizer interface and the records of an optimization.

An optimizer proposes context values (``ask``), hears how they scored (``tell``) and
knows the best values so far (``best``). It never runs anything itself:
:func:`crystallize.optimize.optimize` turns each proposal into a
:class:`~crystallize.treatment.Treatment`, runs it through the experiment, and reports
the objective back.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from crystallize.exceptions import CrystallizeError

if TYPE_CHECKING:
    from crystallize.treatment import Treatment

DIRECTIONS = ("minimize", "maximize")


class SearchExhausted(CrystallizeError):
    """``ask()`` was called on an optimizer with nothing left to propose (a finished grid)."""


class Trial(NamedTuple):
    """One evaluated proposal.

    Attributes:
        values: the context values tried (the trial treatment's values).
        objective: the mean of the metric over the trial's replicates; NaN when no
            replicate produced the metric (e.g. they all failed).
        run_id: the store's id of the run that evaluated the trial (``None`` when the
            experiment keeps no store, or for trials told to an optimizer by hand).
    """

    values: dict[str, Any]
    objective: float
    run_id: str | None = None


def check_direction(direction: str) -> str:
    """Return ``direction`` when it is ``"minimize"`` or ``"maximize"``; raise ValueError otherwise."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    return direction


def range_problem(
    low: Any, high: Any, *, allow_equal: bool = False, step: Any = None
) -> str | None:
    """What makes ``(low, high)`` a range no optimizer can draw from, or ``None`` when it is fine.

    The one check of numeric ranges shared by every built-in optimizer (a random search's
    ``(low, high)`` tuple, an Optuna search space's tuple, ``FloatDistribution`` or
    ``IntDistribution``, with or without ``log``/``step``). A range needs bounds that are
    finite floats (not NaN, ``±inf``, or an int beyond ``±1.8e308``), ``low < high``
    (``low <= high`` with ``allow_equal``, for Optuna, which then always proposes ``low``),
    a width ``high - low`` that is itself a finite float (uniform sampling of
    ``(-1e308, 1e308)`` would give ``inf``), and a ``step``, when given, that is a finite
    number above 0.

    Returns:
        A phrase for the caller's error message, e.g. ``"needs low < high"``.
    """
    try:
        bounds = (float(low), float(high))
    except OverflowError:  # an int too large for a float
        return "needs bounds within the float range (±1.8e308)"
    if not all(math.isfinite(bound) for bound in bounds):
        return "needs finite bounds (not inf or NaN)"
    if not (bounds[0] <= bounds[1] if allow_equal else bounds[0] < bounds[1]):
        return "needs low <= high" if allow_equal else "needs low < high"
    if not math.isfinite(bounds[1] - bounds[0]):
        return "is too wide to sample: high - low is beyond the float range (±1.8e308); narrow it"
    if step is not None:
        try:
            finite_step = math.isfinite(float(step)) and float(step) > 0
        except OverflowError:
            finite_step = False
        if not finite_step:
            return f"needs a finite step > 0, got step={step!r}"
    return None


def is_better(candidate: float, incumbent: float, direction: str) -> bool:
    """True when ``candidate`` beats ``incumbent`` (NaN never beats anything)."""
    if math.isnan(candidate):
        return False
    if math.isnan(incumbent):
        return True
    return candidate > incumbent if direction == "maximize" else candidate < incumbent


class BaseOptimizer(ABC):
    """Proposes context values to try and learns from their objectives.

    Subclasses implement :meth:`ask` and may extend :meth:`tell` (call ``super().tell``
    so :attr:`history` and :meth:`best` keep working).

    Args:
        metric: the metric whose mean over a trial's replicates is the objective.
            ``None`` lets :func:`~crystallize.optimize.optimize` decide (its ``metric``
            argument, or the only metric the experiment records).
        direction: ``"minimize"`` or ``"maximize"``; ``None`` lets ``optimize`` decide
            (its ``direction`` argument). It must be known before the first trial.

    Attributes:
        history: every told trial, in order.
    """

    def __init__(self, metric: str | None = None, direction: str | None = None) -> None:
        self.metric = metric
        self.direction = check_direction(direction) if direction is not None else None
        self.history: list[Trial] = []

    # -- the interface ------------------------------------------------------------------------
    @abstractmethod
    def ask(self) -> dict[str, Any]:
        """Propose the context values of the next trial.

        Raises:
            SearchExhausted: when there is nothing left to try.
        """

    def tell(self, values: dict[str, Any], objective: float) -> None:
        """Report the objective of values returned by :meth:`ask` (NaN for a failed trial)."""
        self.history.append(Trial(dict(values), float(objective)))

    def abandon(self, values: dict[str, Any]) -> None:  # noqa: B027 - optional, as tell() is
        """Forget values returned by :meth:`ask` whose trial raised before it had an
        objective (a misspelt key, a missing metric, Ctrl+C): they are never told. The
        default does nothing; an optimizer holding open trials closes them here (Optuna
        marks the trial ``FAIL``, so a stored study shows no trial running for ever)."""

    def best(self) -> dict[str, Any]:
        """The values of the best trial told so far.

        Raises:
            ValueError: when nothing has been told yet, no trial has a finite objective,
                or the direction is unknown.
        """
        return dict(self.best_trial().values)

    # -- helpers ------------------------------------------------------------------------------
    def best_trial(self) -> Trial:
        """The best trial told so far (see :meth:`best` for the errors)."""
        if self.direction is None:
            raise ValueError(
                f"{type(self).__name__} has no direction; pass direction='minimize' or "
                "'maximize' to the optimizer or to optimize()"
            )
        best: Trial | None = None
        for trial in self.history:
            if best is None or is_better(trial.objective, best.objective, self.direction):
                best = trial
        if best is None or math.isnan(best.objective):
            raise ValueError(f"{type(self).__name__} has no trial with a finite objective yet")
        return best

    def configure(self, metric: str | None = None, direction: str | None = None) -> None:
        """Fill in the metric and direction given to ``optimize()``.

        Args:
            metric: the objective metric; ignored when ``None``.
            direction: ``"minimize"`` or ``"maximize"``; ignored when ``None``.

        Raises:
            ValueError: when a value contradicts one the optimizer already has.
        """
        if metric is not None:
            if self.metric is not None and self.metric != metric:
                raise ValueError(
                    f"optimize(metric={metric!r}) contradicts the optimizer's "
                    f"metric={self.metric!r}; give it in one place"
                )
            self.metric = metric
        if direction is not None:
            check_direction(direction)
            if self.direction is not None and self.direction != direction:
                raise ValueError(
                    f"optimize(direction={direction!r}) contradicts the optimizer's "
                    f"direction={self.direction!r}; give it in one place"
                )
            self.direction = direction

    def __repr__(self) -> str:
        return f"{type(self).__name__}(metric={self.metric!r}, direction={self.direction!r})"


@dataclass
class OptimizationResult:
    """What :func:`~crystallize.optimize.optimize` found.

    Attributes:
        best_treatment: a :class:`~crystallize.treatment.Treatment` with the best values,
            named after its trial (``trial_<i>``); pass it to ``experiment.run``.
        best_value: the best objective.
        trials: every trial, in order.
        metric: the objective metric.
        direction: ``"minimize"`` or ``"maximize"``.
    """

    best_treatment: Treatment
    best_value: float
    trials: list[Trial] = field(default_factory=list)
    metric: str = ""
    direction: str = "maximize"

    @property
    def best_values(self) -> dict[str, Any]:
        """The best trial's context values."""
        return dict(self.best_treatment.values or {})

    def to_dataframe(self) -> Any:
        """A pandas DataFrame: one row per trial, a column per value, ``objective``, ``run_id``."""
        import pandas as pd

        return pd.DataFrame(
            [{**t.values, "objective": t.objective, "run_id": t.run_id} for t in self.trials]
        )


__all__ = [
    "DIRECTIONS",
    "BaseOptimizer",
    "OptimizationResult",
    "SearchExhausted",
    "Trial",
    "check_direction",
    "is_better",
    "range_problem",
]
