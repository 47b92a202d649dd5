"""A fluent builder for :class:`~crystallize.experiment.Experiment`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from crystallize.datasource import DataSource
from crystallize.experiment import Experiment, TreatmentLike, as_list
from crystallize.hypothesis import Hypothesis
from crystallize.pipeline import Pipeline
from crystallize.pipeline_step import PipelineStep
from crystallize.plugins.hookspec import BasePlugin


class ExperimentBuilder:
    """Collects an experiment's parts step by step; :meth:`build` makes the Experiment.

    Example::

        experiment = (
            Experiment.builder("demo")
            .datasource(numbers())
            .add_step(add_delta())
            .treatments([treatment("plus_ten", {"delta": 10})])
            .replicates(20)
            .build()
        )
    """

    def __init__(self, name: str | None = None) -> None:
        self._name = name
        self._datasource: DataSource | None = None
        self._steps: list[PipelineStep] = []
        self._plugins: list[BasePlugin] = []
        self._treatments: list[TreatmentLike] = []
        self._hypotheses: list[Hypothesis] = []
        self._initial_ctx: dict[str, Any] = {}
        self._replicates = 1
        self._description: str | None = None

    def name(self, name: str) -> ExperimentBuilder:
        """Set the experiment's name."""
        self._name = name
        return self

    def description(self, text: str) -> ExperimentBuilder:
        """Set a free-text description."""
        self._description = text
        return self

    def datasource(self, datasource: DataSource) -> ExperimentBuilder:
        """Set the datasource."""
        self._datasource = datasource
        return self

    def add_step(self, step: PipelineStep) -> ExperimentBuilder:
        """Append one step to the pipeline."""
        self._steps.append(step)
        return self

    def pipeline(self, pipeline: Pipeline | Iterable[PipelineStep] | PipelineStep) -> ExperimentBuilder:
        """Replace the steps with ``pipeline`` (a Pipeline, a list of steps or one step)."""
        self._steps = list((pipeline if isinstance(pipeline, Pipeline) else Pipeline(pipeline)).steps)
        return self

    def plugins(self, *plugins: BasePlugin | Iterable[BasePlugin]) -> ExperimentBuilder:
        """Add plugins, as a list or one by one (each replaces the default of its kind)."""
        self._plugins.extend(_items(plugins, "plugins"))
        return self

    def treatments(self, *treatments: TreatmentLike | Iterable[TreatmentLike]) -> ExperimentBuilder:
        """Add treatments, as a list or one by one."""
        self._treatments.extend(_items(treatments, "treatments"))
        return self

    def hypotheses(self, *hypotheses: Hypothesis | Iterable[Hypothesis]) -> ExperimentBuilder:
        """Add hypotheses, as a list or one by one."""
        self._hypotheses.extend(_items(hypotheses, "hypotheses"))
        return self

    def replicates(self, replicates: int) -> ExperimentBuilder:
        """Set the number of replicates per condition."""
        self._replicates = replicates
        return self

    def initial_ctx(self, values: Mapping[str, Any]) -> ExperimentBuilder:
        """Add values every replicate's context starts with."""
        if not isinstance(values, Mapping):
            raise TypeError(
                "initial_ctx() takes a mapping of context keys to values, e.g. "
                f".initial_ctx({{'lr': 0.1}}), got {type(values).__name__} {values!r}"
            )
        self._initial_ctx.update(values)
        return self

    def __repr__(self) -> str:
        """What was set so far, by name: ``ExperimentBuilder('demo', datasource='numbers',
        steps=['add'], replicates=3)``."""
        parts = [repr(self._name)] if self._name is not None else []
        if self._datasource is not None:
            parts.append(f"datasource={_label(self._datasource)!r}")
        for label, items in (
            ("steps", self._steps), ("plugins", self._plugins), ("treatments", self._treatments),
            ("hypotheses", self._hypotheses), ("initial_ctx", list(self._initial_ctx)),
        ):
            if items:
                parts.append(f"{label}={[_label(item) for item in items]!r}")
        if self._replicates != 1:
            parts.append(f"replicates={self._replicates!r}")
        return f"ExperimentBuilder({', '.join(parts)})"

    def build(self) -> Experiment:
        """Create and validate the Experiment.

        Raises:
            ExperimentValidationError: what :meth:`Experiment.validate` reports; no steps
                (neither :meth:`add_step` nor :meth:`pipeline` gave one) counts as no pipeline.
        """
        experiment = Experiment(
            datasource=self._datasource,
            pipeline=Pipeline(self._steps) if self._steps else None,
            plugins=self._plugins,
            initial_ctx=self._initial_ctx,
            treatments=self._treatments,
            hypotheses=self._hypotheses,
            replicates=self._replicates,
            name=self._name,
            description=self._description,
        )
        experiment.validate()
        return experiment


def _label(item: Any) -> str:
    """A short label for a builder part: its ``name``, else its class name (a key as is)."""
    if isinstance(item, str):
        return item
    name = getattr(item, "name", None)
    return name if isinstance(name, str) else type(item).__name__


def _items(given: tuple[Any, ...], what: str) -> list[Any]:
    """``method([a, b])`` and ``method(a, b)`` alike: one argument may be a collection."""
    return as_list(given[0], what, "[...]") if len(given) == 1 else list(given)


__all__ = ["ExperimentBuilder"]
