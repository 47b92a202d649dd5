"""Declarative folder experiments: ``config.yaml``, discovery and experiment graphs.

A folder experiment is a directory holding ``config.yaml`` beside ``datasources.py``,
``steps.py`` and optionally ``verifiers.py`` and ``outputs.py``::

    from crystallize import Experiment
    from crystallize.config import ExperimentGraph, discover

    experiment = Experiment.from_yaml("experiments/demo")        # or .../config.yaml
    graph = ExperimentGraph.from_yaml("experiments/consumer")    # upstream experiments too
    found = discover(".")                                         # every experiments/**/config.yaml

See ``docs/config.md`` for the format. Names are imported on first use, so importing
this package is cheap (pydantic and PyYAML load only when a config is read).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crystallize.utils.lazy import lazy_attributes

if TYPE_CHECKING:
    from crystallize.config.discovery import Discovery, LoadFailure, discover
    from crystallize.config.errors import (
        ConfigCycleError,
        ConfigValidationError,
        ModuleImportError,
        Problem,
    )
    from crystallize.config.graph import ExperimentGraph, declared_outputs
    from crystallize.config.loader import LoadSession, load_experiment
    from crystallize.config.options import CliOptions
    from crystallize.config.state import STATE_FILE, ExperimentState, load_state, save_state
    from crystallize.config.upstream import (
        CombinedSource,
        MissingUpstreamArtifactError,
        UpstreamOutput,
    )

_LAZY = {
    "CliOptions": "crystallize.config.options",
    "CombinedSource": "crystallize.config.upstream",
    "ConfigCycleError": "crystallize.config.errors",
    "ConfigValidationError": "crystallize.config.errors",
    "Discovery": "crystallize.config.discovery",
    "ExperimentGraph": "crystallize.config.graph",
    "ExperimentState": "crystallize.config.state",
    "LoadFailure": "crystallize.config.discovery",
    "LoadSession": "crystallize.config.loader",
    "MissingUpstreamArtifactError": "crystallize.config.upstream",
    "ModuleImportError": "crystallize.config.errors",
    "Problem": "crystallize.config.errors",
    "STATE_FILE": "crystallize.config.state",
    "UpstreamOutput": "crystallize.config.upstream",
    "declared_outputs": "crystallize.config.graph",
    "discover": "crystallize.config.discovery",
    "load_experiment": "crystallize.config.loader",
    "load_state": "crystallize.config.state",
    "save_state": "crystallize.config.state",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))


__all__ = [
    "CliOptions",
    "CombinedSource",
    "ConfigCycleError",
    "ConfigValidationError",
    "Discovery",
    "ExperimentGraph",
    "ExperimentState",
    "LoadFailure",
    "LoadSession",
    "MissingUpstreamArtifactError",
    "ModuleImportError",
    "Problem",
    "STATE_FILE",
    "UpstreamOutput",
    "declared_outputs",
    "discover",
    "load_experiment",
    "load_state",
    "save_state",
]
