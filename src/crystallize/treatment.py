"""Treatments: named conditions compared with the baseline.

A treatment usually changes context values (``{"delta": 10}``), which reach steps
through keyword injection. It may also reshape the experiment for its condition: use
another datasource, swap named steps, or replace the whole pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.utils.context import FrozenContext
from crystallize.utils.text import control_character

if TYPE_CHECKING:
    from crystallize.datasource import DataSource
    from crystallize.pipeline import Pipeline
    from crystallize.pipeline_step import PipelineStep

BASELINE = "baseline"
#: Context keys the engine sets for every replicate; initial_ctx and treatments may not.
ENGINE_KEYS = ("replicate", "condition", "seed_used")


class Treatment:
    """A named condition.

    Args:
        name: the condition's name (``"baseline"`` is reserved).
        values: a mapping (``{"delta": 10}``) whose items are set in each replicate's
            context before the datasource runs, or a callable ``fn(ctx)`` that adds
            values itself.
        datasource: replaces the experiment's datasource for this condition.
        steps: ``{"step_name": replacement_step}`` swaps the experiment's steps of those
            names for this condition.
        pipeline: replaces the whole pipeline (a Pipeline or a list of steps) for this
            condition; cannot be combined with ``steps``.
    """

    def __init__(
        self,
        name: str,
        values: Mapping[str, Any] | Callable[[FrozenContext], Any] | None = None,
        datasource: DataSource | None = None,
        steps: Mapping[str, PipelineStep] | None = None,
        pipeline: Pipeline | Sequence[PipelineStep] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"A treatment needs a non-empty string name, got {name!r}")
        if (control := control_character(name)) is not None:
            raise ValueError(f"Treatment name {name!r} contains the control character {control}; use printable text")
        if name == BASELINE:
            raise ValueError(
                "'baseline' is reserved for the untreated condition; give the treatment another name"
            )
        if values is not None and not (isinstance(values, Mapping) or callable(values)):
            raise TypeError(
                f"Treatment '{name}' values must be a mapping or a callable fn(ctx), "
                f"got {type(values).__name__}"
            )
        if datasource is not None and not hasattr(datasource, "fetch"):
            raise TypeError(
                f"Treatment '{name}' datasource must be a DataSource (did you pass the factory "
                f"instead of calling it?), got {datasource!r}"
            )
        if steps is not None and pipeline is not None:
            raise ValueError(f"Treatment '{name}': give either steps= (swap some) or pipeline= (replace all), not both")
        if steps is not None and not isinstance(steps, Mapping):
            raise TypeError(f"Treatment '{name}' steps must map step names to replacement steps")
        if steps:
            _check_replacements(name, steps)
        self.name = name
        self.values = dict(values) if isinstance(values, Mapping) else values
        self.datasource = datasource
        self.steps = dict(steps) if steps is not None else None
        if pipeline is not None and not hasattr(pipeline, "steps"):
            from crystallize.pipeline import Pipeline

            pipeline = Pipeline(pipeline)
        self.pipeline = pipeline
        self._items = tuple(self.values.items()) if isinstance(self.values, dict) else None

    @property
    def computes_values(self) -> bool:
        """True when the treatment's values come from a function ``fn(ctx)``."""
        return self._items is None and self.values is not None

    @property
    def reshapes(self) -> bool:
        """True when the treatment changes the datasource or the steps, not only values."""
        return self.datasource is not None or self.steps is not None or self.pipeline is not None

    def apply(self, ctx: FrozenContext) -> None:
        """Apply the treatment's values to ``ctx`` (used by the engine before fetch)."""
        if self._items is not None:
            data = ctx._data
            for key, value in self._items:
                data[key] = value
        elif self.values is not None:
            self.values(ctx)

    def own_steps(self) -> list[PipelineStep]:
        """The steps this treatment brings: its swapped-in steps or its whole pipeline."""
        if self.pipeline is not None:
            return list(self.pipeline.steps)
        return list((self.steps or {}).values())

    def resolve_steps(self, base: Sequence[PipelineStep]) -> list[PipelineStep]:
        """The steps this condition runs, given the experiment's ``base`` steps.

        Raises:
            ValueError: when ``steps`` names a step the pipeline does not have.
        """
        if self.pipeline is not None:
            return list(self.pipeline.steps)
        if not self.steps:
            return list(base)
        names = [step.name for step in base]
        unknown = [name for name in self.steps if name not in names]
        if unknown:
            raise ValueError(
                f"Treatment '{self.name}' swaps step(s) {', '.join(map(repr, unknown))}, but the "
                f"pipeline has: {', '.join(map(repr, names)) or 'no steps'}"
            )
        return [self.steps.get(step.name, step) for step in base]

    def __repr__(self) -> str:
        extra = "".join(
            f", {k}={v!r}"
            for k, v in (("datasource", self.datasource), ("steps", self.steps), ("pipeline", self.pipeline))
            if v is not None
        )
        return f"Treatment({self.name!r}, {self.values!r}{extra})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Treatment)
            and other.name == self.name
            and other.values == self.values
            and other.datasource is self.datasource
            and other.steps == self.steps
            and other.pipeline is self.pipeline
        )

    def __hash__(self) -> int:
        return hash(self.name)


def _check_replacements(name: str, steps: Mapping[str, Any]) -> None:
    """Raise TypeError when a ``steps=`` replacement is not a step (say, an uncalled factory)."""
    from crystallize.pipeline import step_problem

    for step_name, step in steps.items():
        problem = step_problem(step)
        if problem is not None:
            raise TypeError(f"Treatment '{name}' replaces step '{step_name}' with {step!r}, {problem}")


def treatment(
    name: str,
    values: Mapping[str, Any] | Callable[[FrozenContext], Any] | None = None,
    *,
    datasource: DataSource | None = None,
    steps: Mapping[str, PipelineStep] | None = None,
    pipeline: Pipeline | Sequence[PipelineStep] | None = None,
) -> Treatment:
    """Return a :class:`Treatment` named ``name`` (see its arguments)."""
    return Treatment(name, values, datasource=datasource, steps=steps, pipeline=pipeline)


__all__ = ["BASELINE", "ENGINE_KEYS", "Treatment", "treatment"]
