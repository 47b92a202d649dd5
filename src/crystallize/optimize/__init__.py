"""Search for the context values that optimize a metric.

``optimize(experiment, optimizer, num_trials, replicates_per_trial)`` runs one trial
per proposal of an ask/tell optimizer, each trial a treatment evaluated over seeded
replicates, and returns the best:

* :class:`BaseOptimizer` — the ask/tell interface to implement your own;
* :class:`GridSearchOptimizer`, :class:`RandomSearchOptimizer` — built in;
* :class:`OptunaOptimizer` — Optuna's samplers (needs the ``optuna`` extra; imported
  on first access).

Example::

    from crystallize.optimize import RandomSearchOptimizer, optimize

    found = optimize(
        experiment,
        RandomSearchOptimizer({"lr": (1e-4, 1e-1), "depth": [2, 4, 8]}, seed=0),
        num_trials=20, replicates_per_trial=5, metric="accuracy", direction="maximize",
    )
    experiment.run(treatments=[found.best_treatment])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crystallize.optimize.base import (
    BaseOptimizer,
    OptimizationResult,
    SearchExhausted,
    Trial,
)
from crystallize.optimize.runner import optimize, trial_objective
from crystallize.optimize.search import GridSearchOptimizer, RandomSearchOptimizer

if TYPE_CHECKING:
    from crystallize.optimize.optuna import OptunaOptimizer


def __getattr__(name: str) -> Any:
    if name == "OptunaOptimizer":
        from crystallize.optimize.optuna import OptunaOptimizer

        return OptunaOptimizer
    raise AttributeError(f"module 'crystallize.optimize' has no attribute {name!r}")


__all__ = [
    "BaseOptimizer",
    "GridSearchOptimizer",
    "OptimizationResult",
    "OptunaOptimizer",
    "RandomSearchOptimizer",
    "SearchExhausted",
    "Trial",
    "optimize",
    "trial_objective",
]
