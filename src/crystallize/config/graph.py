"""ExperimentGraph: experiments that read each other's outputs, run upstream first.

An experiment whose datasource is ``experiment#output`` (an
:class:`~crystallize.config.upstream.UpstreamOutput`) depends on that experiment. A
graph checks, before anything runs, that every experiment read from is in the graph,
declares the output read, and that nothing depends on itself (no cycles); then it runs
the experiments in topological order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from crystallize.artifacts import Artifact
from crystallize.config.errors import ConfigCycleError, did_you_mean
from crystallize.config.upstream import upstream_refs
from crystallize.exceptions import ConfigError

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.result import Result

logger = logging.getLogger("crystallize.config")


def declared_outputs(experiment: Experiment) -> dict[str, Artifact]:
    """The outputs other experiments may read from ``experiment``.

    For a folder experiment, its ``outputs:``. For one built in code, the attribute
    ``experiment.outputs`` when set, else every :class:`~crystallize.artifacts.Artifact`
    passed to a step, keyed by the step parameter that received it.
    """
    outputs = getattr(experiment, "outputs", None)
    if isinstance(outputs, Mapping):
        return dict(outputs)
    found: dict[str, Artifact] = {}
    steps = experiment.pipeline.steps if experiment.pipeline is not None else []
    for step in steps:
        for name, value in dict(getattr(step, "params", {}) or {}).items():
            if isinstance(value, Artifact):
                found[name] = value
    return found


class ExperimentGraph:
    """Experiments connected by the outputs they read, run upstream first.

    Args:
        experiments: every experiment of the graph, each with a unique name.

    Raises:
        ConfigError: duplicate names, an experiment read from is missing from the graph,
            or it does not declare the output read.
        ConfigCycleError: the experiments read each other's outputs in a cycle.

    Attributes:
        experiments: ``{name: Experiment}``.
        dependencies: ``{name: [(upstream name, output alias), ...]}``.
        order: the names in the order they run (every experiment after those it reads).
    """

    def __init__(self, experiments: Iterable[Experiment]) -> None:
        self.experiments: dict[str, Experiment] = {}
        for experiment in experiments:
            if experiment.name in self.experiments and self.experiments[experiment.name] is not experiment:
                raise ConfigError(f"Two experiments of the graph are named '{experiment.name}'; names must be unique")
            self.experiments[experiment.name] = experiment
        self.dependencies: dict[str, list[tuple[str, str]]] = {
            name: [(ref.experiment, ref.output) for ref in upstream_refs(exp.datasource)]
            for name, exp in self.experiments.items()
        }
        self._check_references()
        self.order: list[str] = self._topological_order()

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_experiments(cls, experiments: Iterable[Experiment]) -> ExperimentGraph:
        """A graph of experiments built in code (or loaded); see the class docstring."""
        return cls(experiments)

    @classmethod
    def from_yaml(cls, config: str | Path) -> ExperimentGraph:
        """Load ``config`` (a ``config.yaml`` or its folder) and every experiment it reads from.

        Experiments named in ``experiment#output`` datasources are found among the
        sibling folders of the experiment's folder, by experiment name, recursively.

        Raises:
            ConfigError: the config or one of the upstream configs is invalid, or the
                references form a cycle.
        """
        from crystallize.config.loader import LoadSession, resolve_config_path

        session = LoadSession()
        path = resolve_config_path(config)
        session.load(path)
        return cls(reversed(session.closure(path.parent)))

    # -- checks ----------------------------------------------------------------------------------
    def _check_references(self) -> None:
        for name, refs in self.dependencies.items():
            for upstream, output in refs:
                if upstream not in self.experiments:
                    raise ConfigError(
                        f"Experiment '{name}' reads '{upstream}#{output}', but the graph has no "
                        f"experiment named '{upstream}' (it has: {', '.join(sorted(self.experiments))})"
                        + did_you_mean(upstream, self.experiments)
                    )
                outputs = declared_outputs(self.experiments[upstream])
                if output not in outputs:
                    raise ConfigError(
                        f"Experiment '{name}' reads '{upstream}#{output}', but '{upstream}' declares "
                        f"no output '{output}' (its outputs: {', '.join(sorted(outputs)) or 'none'})"
                        + did_you_mean(output, outputs)
                    )

    def _topological_order(self) -> list[str]:
        order: list[str] = []
        state: dict[str, str] = {}  # "visiting" or "done"
        path: list[str] = []

        def visit(name: str) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "visiting":
                raise ConfigCycleError(path[path.index(name):] + [name])
            state[name] = "visiting"
            path.append(name)
            for upstream, _ in self.dependencies[name]:
                visit(upstream)
            path.pop()
            state[name] = "done"
            order.append(name)

        for name in self.experiments:
            visit(name)
        return order

    # -- queries ---------------------------------------------------------------------------------
    def upstream_of(self, name: str) -> list[str]:
        """Names of the experiments ``name`` reads from directly."""
        return list(dict.fromkeys(upstream for upstream, _ in self.dependencies[name]))

    def downstream_of(self, name: str) -> list[str]:
        """Names of the experiments that read from ``name`` directly."""
        return [other for other in self.order if name in self.upstream_of(other)]

    @property
    def sinks(self) -> list[str]:
        """Experiments nothing else reads from (the graph's final experiments)."""
        return [name for name in self.order if not self.downstream_of(name)]

    def __getitem__(self, name: str) -> Experiment:
        return self.experiments[name]

    def __contains__(self, name: object) -> bool:
        return name in self.experiments

    def __iter__(self) -> Iterator[Experiment]:
        return (self.experiments[name] for name in self.order)

    def __len__(self) -> int:
        return len(self.experiments)

    def __repr__(self) -> str:
        return f"ExperimentGraph({' -> '.join(self.order)})"

    # -- running ---------------------------------------------------------------------------------
    def run(self, strategy: str = "rerun", replicates: int | None = None) -> dict[str, Result]:
        """Run every experiment, upstream first.

        Args:
            strategy: ``"rerun"`` or ``"resume"``, passed to each ``Experiment.run``; with
                ``"resume"`` an experiment whose last matching run finished computes nothing.
            replicates: replicates for every experiment of the graph (``None``: their own).

        Returns:
            ``{name: Result}`` in run order. An experiment whose replicates failed does
            not stop the graph; experiments reading its missing outputs then record errors
            for those replicates.
        """
        results: dict[str, Result] = {}
        for name in self.order:
            result = self.experiments[name].run(strategy=strategy, replicates=replicates)
            results[name] = result
            if result.errors and self.downstream_of(name):
                logger.warning(
                    "Experiment '%s' had %d failed replicate(s); experiments reading its outputs "
                    "(%s) may fail for those replicates",
                    name, len(result.errors), ", ".join(self.downstream_of(name)),
                )
        return results


__all__ = ["ExperimentGraph", "declared_outputs"]
