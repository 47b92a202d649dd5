"""Grid and random search over a space of context values.

A *space* maps context keys to what they may take:

* a list of choices — ``{"depth": [2, 4, 8]}``;
* a ``(low, high)`` tuple of numbers — a continuous range (random search only: it
  draws floats uniformly; for integers, give a list such as ``list(range(1, 11))``).
  The bounds must be finite with ``low < high`` and a finite width ``high - low``:
  ``inf``, NaN or ``(-1e308, 1e308)`` are refused when the optimizer is made.

Each key should be a parameter a step reads: :func:`~crystallize.optimize.optimize`
refuses a key that nothing in the experiment can read (docs/optimization.md).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from typing import Any

from crystallize.optimize.base import BaseOptimizer, SearchExhausted, range_problem


def _check_space(space: Mapping[str, Any], *, ranges: bool) -> dict[str, Any]:
    if not isinstance(space, Mapping) or not space:
        raise ValueError("A search space must be a non-empty dict {context key: choices}")
    checked: dict[str, Any] = {}
    for key, entry in space.items():
        if isinstance(entry, tuple):
            if not ranges:
                raise ValueError(
                    f"Search space entry {key!r} is a range {entry!r}; grid search needs a "
                    "list of values (e.g. [0.1, 0.2, 0.5])"
                )
            if len(entry) != 2 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in entry):
                raise ValueError(f"Search space range {key!r} must be (low, high) numbers, got {entry!r}")
            problem = range_problem(*entry)
            if problem is not None:
                raise ValueError(f"Search space range {key!r} {problem}, got {entry!r}")
            checked[str(key)] = (float(entry[0]), float(entry[1]))
        elif isinstance(entry, Sequence) and not isinstance(entry, str):
            if not entry:
                raise ValueError(f"Search space entry {key!r} has no choices")
            checked[str(key)] = list(entry)
        else:
            kinds = "a list of choices or a (low, high) range" if ranges else "a list of choices"
            raise ValueError(f"Search space entry {key!r} must be {kinds}, got {entry!r}")
    return checked


class GridSearchOptimizer(BaseOptimizer):
    """Try every combination of the space's choices, in order.

    Args:
        space: ``{context key: [choice, ...]}``; combinations vary the last key fastest.
        metric: the objective metric (see :class:`BaseOptimizer`).
        direction: ``"minimize"`` or ``"maximize"`` (see :class:`BaseOptimizer`).

    Raises:
        ValueError: an entry is not a non-empty list.

    Example::

        GridSearchOptimizer({"lr": [0.01, 0.1], "depth": [2, 4]}, metric="accuracy",
                            direction="maximize")
    """

    def __init__(
        self, space: Mapping[str, Sequence[Any]], metric: str | None = None, direction: str | None = None
    ) -> None:
        super().__init__(metric, direction)
        self.space = _check_space(space, ranges=False)
        self._grid = itertools.product(*self.space.values())

    @property
    def size(self) -> int:
        """How many combinations the grid holds."""
        count = 1
        for choices in self.space.values():
            count *= len(choices)
        return count

    def ask(self) -> dict[str, Any]:
        """The next combination of the grid.

        Raises:
            SearchExhausted: every combination has been proposed.
        """
        try:
            combination = next(self._grid)
        except StopIteration:
            raise SearchExhausted(f"The grid's {self.size} combinations have all been tried") from None
        return dict(zip(self.space, combination, strict=True))


class RandomSearchOptimizer(BaseOptimizer):
    """Draw each value independently: a random choice from a list, a uniform float from a range.

    Args:
        space: ``{context key: [choice, ...] or (low, high)}``.
        seed: seed of the optimizer's own random generator (reproducible proposals); it
            never touches the global RNGs the experiment's SeedPlugin seeds.
        metric: the objective metric (see :class:`BaseOptimizer`).
        direction: ``"minimize"`` or ``"maximize"`` (see :class:`BaseOptimizer`).

    Raises:
        ValueError: an entry is neither a non-empty list nor a ``(low, high)`` range, or
            the range has a bound that is ``inf`` or NaN, ``low >= high``, or a width
            ``high - low`` beyond the float range.
    """

    def __init__(
        self,
        space: Mapping[str, Any],
        seed: int | None = None,
        metric: str | None = None,
        direction: str | None = None,
    ) -> None:
        super().__init__(metric, direction)
        self.space = _check_space(space, ranges=True)
        self.seed = seed
        self._rng = random.Random(seed)

    def ask(self) -> dict[str, Any]:
        """A fresh random draw from the space."""
        values: dict[str, Any] = {}
        for key, entry in self.space.items():
            if isinstance(entry, tuple):
                values[key] = self._rng.uniform(*entry)
            else:
                values[key] = self._rng.choice(entry)
        return values


__all__ = ["GridSearchOptimizer", "RandomSearchOptimizer"]
