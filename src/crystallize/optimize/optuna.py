"""OptunaOptimizer: let an Optuna study's sampler choose the trials.

Needs the ``optuna`` extra (``pip install 'crystallize[optuna]'``). Proposals come from
``study.ask()`` and objectives go back through ``study.tell()``, so Optuna's samplers
(TPE, CMA-ES, QMC, grid, …), storages and dashboard work unchanged. Trials are not
pruned: each one runs all of its replicates. A sampler that ends the search (Optuna's
``GridSampler`` once every grid point is tried) makes :meth:`OptunaOptimizer.ask` raise
:class:`~crystallize.optimize.SearchExhausted`, so ``optimize`` stops there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from crystallize.optimize.base import BaseOptimizer, SearchExhausted
from crystallize.utils.optional import require


def _distributions(space: Mapping[str, Any]) -> dict[str, Any]:
    """Turn a search space into Optuna distributions.

    Entries may be a list of choices (categorical), a ``(low, high)`` tuple of numbers
    (uniform float) or an ``optuna.distributions`` object used as is.
    """
    dists = require("optuna.distributions", feature="OptunaOptimizer", extra="optuna", package="optuna")
    if not isinstance(space, Mapping) or not space:
        raise ValueError("OptunaOptimizer needs a non-empty search_space {context key: choices}")
    out: dict[str, Any] = {}
    for key, entry in space.items():
        if isinstance(entry, dists.BaseDistribution):
            out[str(key)] = entry
        elif isinstance(entry, tuple) and len(entry) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in entry
        ):
            low, high = float(entry[0]), float(entry[1])
            if not low <= high:
                raise ValueError(f"search_space entry {key!r}: the range {entry!r} needs low <= high")
            out[str(key)] = dists.FloatDistribution(low, high)
        elif isinstance(entry, list) and entry:
            out[str(key)] = dists.CategoricalDistribution(entry)
        else:
            raise ValueError(
                f"search_space entry {key!r} must be a list of choices, a (low, high) range or "
                f"an optuna distribution, got {entry!r}"
            )
    return out


class OptunaOptimizer(BaseOptimizer):
    """An adapter driving an ``optuna.Study`` through its ask-and-tell interface.

    Args:
        study: a single-objective study (``optuna.create_study(direction=...)``); its
            direction is the optimization's direction.
        search_space: ``{context key: [choices] | (low, high) | optuna distribution}``.
        metric: the objective metric (see :class:`~crystallize.optimize.BaseOptimizer`).

    A ``GridSampler`` study is finite: once every grid point has been tried, :meth:`ask`
    raises :class:`~crystallize.optimize.SearchExhausted` and ``optimize`` returns, even
    when ``num_trials`` is larger than the grid.

    Raises:
        ValueError: a multi-objective study or an invalid search space entry.
        OptionalDependencyError: Optuna is not installed.

    Example::

        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
        optimizer = OptunaOptimizer(study, search_space={"lr": (1e-4, 1e-1), "depth": [2, 4, 8]})
    """

    def __init__(self, study: Any, search_space: Mapping[str, Any], metric: str | None = None) -> None:
        optuna = require("optuna", feature="OptunaOptimizer", extra="optuna")
        if not isinstance(study, optuna.study.Study):
            raise TypeError(
                f"OptunaOptimizer needs an optuna Study, e.g. optuna.create_study(direction='maximize'), "
                f"got {type(study).__name__} {study!r}"
            )
        directions = list(study.directions)
        if len(directions) != 1:
            raise ValueError(
                f"OptunaOptimizer needs a single-objective study, this one has {len(directions)} objectives"
            )
        direction = "maximize" if directions[0] == optuna.study.StudyDirection.MAXIMIZE else "minimize"
        super().__init__(metric, direction)
        self.study = study
        self.distributions = _distributions(search_space)
        self._pending: list[tuple[dict[str, Any], Any]] = []
        self._stopped = False

    def ask(self) -> dict[str, Any]:
        """Values sampled by the study's sampler for a new Optuna trial.

        Raises:
            SearchExhausted: the sampler has ended the search, e.g. a ``GridSampler``
                whose every grid point has been tried.
        """
        is_exhausted = getattr(self.study.sampler, "is_exhausted", None)  # GridSampler's
        if self._stopped or (callable(is_exhausted) and is_exhausted(self.study)):
            raise SearchExhausted(
                f"The study's {type(self.study.sampler).__name__} has ended the search "
                "(a GridSampler does once every grid point has been tried)"
            )
        trial = self.study.ask(fixed_distributions=dict(self.distributions))
        values = dict(trial.params)
        self._pending.append((values, trial))
        return dict(values)

    def tell(self, values: dict[str, Any], objective: float) -> None:
        """Complete the Optuna trial that proposed ``values`` (a NaN objective fails it).

        When the sampler asks the study to stop (``GridSampler`` after its last grid
        point), the trial is still completed and the next :meth:`ask` raises
        :class:`~crystallize.optimize.SearchExhausted`.

        Raises:
            ValueError: ``values`` were not proposed by :meth:`ask` (or were told already).
        """
        from optuna.trial import TrialState

        trial = self._take_pending(values, "tell")
        try:
            if math.isnan(objective):
                self.study.tell(trial, state=TrialState.FAIL)
            else:
                self.study.tell(trial, float(objective))
        except RuntimeError as error:
            # A sampler ending the search (GridSampler, after the last grid point) calls
            # study.stop(), which Optuna refuses outside study.optimize(). study.tell() has
            # stored the trial before that error, so the stop request is all it carries.
            if "Study.stop" not in str(error):
                raise
            self._stopped = True
        super().tell(values, objective)

    def abandon(self, values: dict[str, Any]) -> None:
        """Fail the Optuna trial that proposed ``values``: its run raised before it had
        an objective (see :meth:`BaseOptimizer.abandon`). Values not pending are ignored."""
        from optuna.trial import TrialState

        if any(proposed == values for proposed, _ in self._pending):
            self.study.tell(self._take_pending(values, "abandon"), state=TrialState.FAIL)

    def _take_pending(self, values: dict[str, Any], method: str) -> Any:
        """Remove and return the pending Optuna trial that proposed ``values``."""
        index = next((i for i, (proposed, _) in enumerate(self._pending) if proposed == values), None)
        if index is None:
            raise ValueError(f"{method}() got values that ask() did not propose (or already told): {values!r}")
        return self._pending.pop(index)[1]

    def __repr__(self) -> str:
        return (
            f"OptunaOptimizer(study={getattr(self.study, 'study_name', '?')!r}, "
            f"search_space={list(self.distributions)!r}, metric={self.metric!r})"
        )


__all__ = ["OptunaOptimizer"]
