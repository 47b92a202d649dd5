"""ExperimentGraph: experiments that read each other's outputs, run upstream first.

An experiment whose datasource (or a treatment's datasource) is ``experiment#output``
(an :class:`~crystallize.config.upstream.UpstreamOutput`) depends on that experiment. A
graph checks, before anything runs, that every experiment read from is in the graph,
declares the output read under the file name read, writes its artifacts under the root
they are read from, and that nothing depends on itself (no cycles); then it runs the
experiments in topological order. Each consumer reads the producer run the graph ran (or
resumed) upstream, not merely the newest run of that name (see
:meth:`~crystallize.config.UpstreamOutput.follow`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from crystallize.artifacts import Artifact
from crystallize.config.errors import ConfigCycleError, did_you_mean
from crystallize.config.upstream import UpstreamOutput, experiment_upstreams
from crystallize.exceptions import ConfigError
from crystallize.plugins.artifacts import ArtifactPlugin

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

    Each :class:`~crystallize.config.UpstreamOutput` of the graph gets the upstream's
    file name for the output (when it names none) and the upstream's spec fingerprint, so
    a changed upstream also changes the fingerprint of the experiments reading it. It
    follows the graph's upstream experiment
    (:meth:`~crystallize.config.UpstreamOutput.follow`): once that has run or resumed, by
    :meth:`run` or by running the graph's experiments in :attr:`order` one by one (as
    ``crystallize run`` does), the experiments reading it read that very run, not a newer
    run of the same name.

    Raises:
        ConfigError: duplicate names, an experiment read from is missing from the graph,
            does not declare the output read, writes it to another file name than the one
            read, or writes its artifacts under another root than the one read from.
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
        self._upstreams = {name: experiment_upstreams(exp) for name, exp in self.experiments.items()}
        self.dependencies: dict[str, list[tuple[str, str]]] = {
            name: list(dict.fromkeys((ref.experiment, ref.output) for ref in refs))
            for name, refs in self._upstreams.items()
        }
        self.check()
        self.order: list[str] = self._topological_order()
        self._fill_in_fingerprints()

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
    def check(self) -> None:
        """Check every upstream reference (see the class docstring) and make it follow
        the graph's upstream experiment. The graph checks when it is made and again before
        :meth:`run`; call it after changing its experiments' plugins (``--set
        plugins.artifacts.root_dir=...``) to be told of a mismatch before anything runs.

        Raises:
            ConfigError: as the class does.
        """
        for name, refs in self._upstreams.items():
            for ref in refs:
                upstream, output = ref.experiment, ref.output
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
                self._check_file_name(name, ref, outputs[output])
                self._check_root(name, ref)
                ref.follow(self.experiments[upstream])

    @staticmethod
    def _check_file_name(name: str, ref: UpstreamOutput, artifact: Artifact) -> None:
        """Fill in the file name the upstream writes the output to, or raise when the one
        given differs (every read would fail as if the upstream run had failed)."""
        if ref.file_name_given and ref.file_name != artifact.name:
            raise ConfigError(
                f"Experiment '{name}' reads '{ref.name}' from file '{ref.file_name}', but "
                f"'{ref.experiment}' writes that output to '{artifact.name}'. Pass "
                f"file_name='{artifact.name}' to UpstreamOutput, or leave it out."
            )
        ref.fill_in(file_name=artifact.name)

    def _check_root(self, name: str, ref: UpstreamOutput) -> None:
        """Raise unless the upstream writes its artifacts under the root ``name`` reads from."""
        reading = ref.root_for(_artifact_root(self.experiments[name]))
        writing = _artifact_root(self.experiments[ref.experiment])
        if writing is None or os.path.abspath(writing) != os.path.abspath(reading):
            raise ConfigError(
                f"Experiment '{ref.experiment}' writes its artifacts under root_dir "
                f"{None if writing is None else os.fspath(writing)!r}, but '{name}' reads "
                f"'{ref.name}' under {reading!r}; give both the same ArtifactPlugin root_dir."
            )

    def _fill_in_fingerprints(self) -> None:
        """Give every upstream output the fingerprint of the experiment it reads, upstream
        first (an upstream's own fingerprint covers what it reads)."""
        from crystallize.fingerprint import fingerprint, spec_of

        for name in self.order:
            readers = [ref for refs in self._upstreams.values() for ref in refs if ref.experiment == name]
            if readers:
                digest = fingerprint(spec_of(self.experiments[name]))
                for ref in readers:
                    ref.fill_in(upstream_fingerprint=digest)

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

        Each experiment reads the upstream runs this call ran or resumed (see the class
        docstring), whatever newer runs of them the store has.

        Returns:
            ``{name: Result}`` in run order. An experiment whose replicates failed does
            not stop the graph; experiments reading its missing outputs then record errors
            for those replicates.

        Raises:
            ConfigError: :meth:`check` fails (an artifact root changed since the graph
                was made), before anything runs.
        """
        self.check()
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


def _artifact_root(experiment: Experiment) -> str | os.PathLike[str] | None:
    """The ``root_dir`` of the experiment's ArtifactPlugin (``None`` without a store)."""
    plugin = experiment.get_plugin(ArtifactPlugin)
    return plugin.root_dir if plugin is not None else None


__all__ = ["ExperimentGraph", "declared_outputs"]
