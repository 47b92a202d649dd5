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

from crystallize.optimize.base import BaseOptimizer, SearchExhausted, range_problem
from crystallize.utils.optional import require
from crystallize.utils.user_exceptions import add_note_safely


def _distributions(space: Mapping[str, Any]) -> dict[str, Any]:
    """Turn a search space into Optuna distributions.

    Entries may be a list of choices (categorical), a ``(low, high)`` tuple of numbers
    (uniform float) or an ``optuna.distributions`` object (an old-style one, such as
    ``UniformDistribution``, becomes its ``FloatDistribution``/``IntDistribution``, as
    ``study.ask`` would make it). Numeric ranges get the check every optimizer applies
    (:func:`~crystallize.optimize.base.range_problem`): finite bounds, ``low <= high``,
    a finite width and a finite positive step.
    """
    dists = require("optuna.distributions", feature="OptunaOptimizer", extra="optuna", package="optuna")
    if not isinstance(space, Mapping) or not space:
        raise ValueError("OptunaOptimizer needs a non-empty search_space {context key: choices}")
    out: dict[str, Any] = {}
    for key, entry in space.items():
        if isinstance(entry, dists.FloatDistribution | dists.IntDistribution):
            problem = range_problem(entry.low, entry.high, allow_equal=True, step=entry.step)
            if problem is not None:
                raise ValueError(f"search_space entry {key!r}: {entry!r} {problem}")
            is_float = isinstance(entry, dists.FloatDistribution)
            kind = dists.FloatDistribution if is_float else dists.IntDistribution
            if type(entry) is not kind:  # an old-style distribution
                entry = kind(entry.low, entry.high, log=entry.log, step=entry.step)
            out[str(key)] = entry
        elif isinstance(entry, dists.CategoricalDistribution):
            out[str(key)] = entry
        elif isinstance(entry, dists.BaseDistribution):
            raise ValueError(
                f"search_space entry {key!r}: OptunaOptimizer takes a FloatDistribution, "
                f"IntDistribution or CategoricalDistribution, got {entry!r}"
            )
        elif isinstance(entry, tuple) and len(entry) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in entry
        ):
            problem = range_problem(*entry, allow_equal=True)
            if problem is not None:
                raise ValueError(f"search_space entry {key!r}: the range {entry!r} {problem}")
            out[str(key)] = dists.FloatDistribution(float(entry[0]), float(entry[1]))
        elif isinstance(entry, list) and entry:
            out[str(key)] = dists.CategoricalDistribution(entry)
        else:
            raise ValueError(
                f"search_space entry {key!r} must be a list of choices, a (low, high) range or "
                f"an optuna distribution, got {entry!r}"
            )
    return out


def _suggest(trial: Any, name: str, distribution: Any) -> None:
    """Sample ``name`` from ``distribution`` in ``trial`` through Optuna's public
    ``suggest_*`` methods (what ``study.ask(fixed_distributions=...)`` does)."""
    from optuna.distributions import FloatDistribution, IntDistribution

    d = distribution
    if isinstance(d, FloatDistribution):
        trial.suggest_float(name, d.low, d.high, step=d.step, log=d.log)
    elif isinstance(d, IntDistribution):
        trial.suggest_int(name, d.low, d.high, step=d.step, log=d.log)
    else:
        trial.suggest_categorical(name, d.choices)


def _describe(distribution: Any) -> str:
    """A distribution in plain words: "a list of choices [2, 4, 8]", "an int range 1..8"."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(distribution, CategoricalDistribution):
        return f"a list of choices {list(distribution.choices)!r}"
    kind = "an int range" if isinstance(distribution, IntDistribution) else "a float range"
    scale = " on a log scale" if distribution.log else ""
    step = f" with step {distribution.step!r}" if distribution.step not in (None, 1) else ""
    return f"{kind} {distribution.low!r}..{distribution.high!r}{scale}{step}"


def _conflict(
    study: Any, trial_number: int, name: str, distribution: Any, failed: bool
) -> str | None:
    """The error message when ``distribution`` contradicts what the study's other trials
    recorded for ``name`` (a kind, scale or choices Optuna refuses to change), else
    ``None``. ``failed`` says whether trial ``trial_number`` could be marked FAIL."""
    from optuna.distributions import CategoricalDistribution

    try:
        trials = study.get_trials(deepcopy=False)
    except Exception:  # the storage is failing too: let Optuna's own error speak
        return None
    stored = next(
        (t.distributions[name] for t in trials if name in t.distributions and t.number != trial_number),
        None,
    )
    if stored is None or stored == distribution:
        return None
    if type(stored) is not type(distribution):
        change = "a different kind of distribution"
    elif isinstance(stored, CategoricalDistribution):
        change = "different choices"
    elif stored.log != distribution.log:
        change = "a different scale (log or linear)"
    else:
        return None  # same kind, scale: Optuna accepts changed bounds
    return (
        f"search_space entry {name!r} is {_describe(distribution)}, but the study "
        f"{study.study_name!r} already has trials where {name!r} is {_describe(stored)}; "
        f"Optuna refuses {change} for a parameter of a study. Use a new study name, or keep "
        f"the search space the study was made with"
        + (f" (trial {trial_number}, opened for this proposal, is marked FAIL)" if failed else "")
    )


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
        ValueError: a multi-objective study or an invalid search space entry, such as a
            range with an inf or NaN bound, low > high, or a width high - low beyond the
            float range (see :func:`~crystallize.optimize.base.range_problem`).
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

        If sampling a value fails, the Optuna trial this call opened is marked ``FAIL``
        before the error goes on, so a stored study keeps no trial ``RUNNING``.

        Raises:
            SearchExhausted: the sampler has ended the search, e.g. a ``GridSampler``
                whose every grid point has been tried.
            ValueError: the study already has trials where a search-space key has another
                kind of distribution (a list of choices, now an int range), another scale
                (log or linear) or other choices, which Optuna refuses; the message names
                the key and both distributions (chained from Optuna's error).
        """
        is_exhausted = getattr(self.study.sampler, "is_exhausted", None)  # GridSampler's
        if self._stopped or (callable(is_exhausted) and is_exhausted(self.study)):
            raise SearchExhausted(
                f"The study's {type(self.study.sampler).__name__} has ended the search "
                "(a GridSampler does once every grid point has been tried)"
            )
        trial = self.study.ask()
        for name, distribution in self.distributions.items():
            try:
                _suggest(trial, name, distribution)
            except BaseException as error:  # Ctrl+C too: no trial may stay RUNNING
                failed = self._fail_opened(trial, error)
                conflict = None
                if isinstance(error, ValueError):
                    conflict = _conflict(self.study, trial.number, name, distribution, failed)
                if conflict is not None:
                    raise ValueError(conflict) from error
                marked = f"; trial {trial.number} is marked FAIL" if failed else ""
                add_note_safely(
                    error, f"(raised while OptunaOptimizer sampled search_space entry {name!r}{marked})"
                )
                raise
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

    def _fail_opened(self, trial: Any, error: BaseException) -> bool:
        """Mark FAIL the trial ask() opened and could not finish sampling, so a stored
        study keeps no trial RUNNING for ever. Returns whether it could; a failure to
        do so is noted on ``error``, which stays the error ask() raises."""
        from optuna.trial import TrialState

        try:
            self.study.tell(trial, state=TrialState.FAIL)
        except Exception as tell_error:
            add_note_safely(error, f"OptunaOptimizer could not mark trial {trial.number} FAIL either: {tell_error!r}")
            return False
        return True

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
