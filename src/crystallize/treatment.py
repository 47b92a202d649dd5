"""Treatments: named variations of the context applied to a condition's replicates."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from crystallize.utils.context import FrozenContext

BASELINE = "baseline"


class Treatment:
    """A named condition: context values added before the datasource runs.

    ``values`` is either a mapping (``{"delta": 10}``) whose items are added to (or
    replace values of) each replicate's context, or a callable ``fn(ctx)`` that adds
    values itself.
    """

    def __init__(
        self,
        name: str,
        values: Mapping[str, Any] | Callable[[FrozenContext], Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"A treatment needs a non-empty string name, got {name!r}")
        if name == BASELINE:
            raise ValueError(
                "'baseline' is reserved for the untreated condition; give the treatment another name"
            )
        if values is not None and not (isinstance(values, Mapping) or callable(values)):
            raise TypeError(
                f"Treatment '{name}' values must be a mapping or a callable fn(ctx), "
                f"got {type(values).__name__}"
            )
        self.name = name
        self.values = dict(values) if isinstance(values, Mapping) else values
        self._items = tuple(self.values.items()) if isinstance(self.values, dict) else None

    def apply(self, ctx: FrozenContext) -> None:
        """Apply the treatment's values to ``ctx`` (used by the engine before fetch)."""
        if self._items is not None:
            data = ctx._data
            for key, value in self._items:
                data[key] = value
        elif self.values is not None:
            self.values(ctx)

    def __repr__(self) -> str:
        return f"Treatment({self.name!r}, {self.values!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Treatment) and other.name == self.name and other.values == self.values
        )

    def __hash__(self) -> int:
        return hash(self.name)


def treatment(
    name: str, values: Mapping[str, Any] | Callable[[FrozenContext], Any] | None = None
) -> Treatment:
    """Return a :class:`Treatment` named ``name`` with the given context ``values``."""
    return Treatment(name, values)


__all__ = ["BASELINE", "Treatment", "treatment"]
