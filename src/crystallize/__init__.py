"""Crystallize: reproducible, statistically sound experiments.

Describe an experiment once — a datasource, a pipeline of steps, treatments, replicates
and hypotheses — and Crystallize runs the baseline and every treatment over seeded
replicates, records metrics and provenance, and turns the samples into verdicts.

Everything public is importable from here; heavy dependencies (NumPy, SciPy, pandas,
Ray, Textual) load only when a feature needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crystallize.artifacts import Artifact
from crystallize.datasource import DataSource, data_source
from crystallize.exceptions import (
    ClusterConnectionError,
    ConfigError,
    ContextMutationError,
    CrystallizeError,
    ExperimentBusyError,
    ExperimentValidationError,
    InsufficientSamplesError,
    MissingContextKeyError,
    MissingMetricError,
    MissingParameterError,
    OptionalDependencyError,
    PicklingError,
    PluginError,
    RunFailedError,
    StoreArgumentError,
    StoreError,
    VerificationError,
    VerifierArgumentError,
    WorkerStartError,
)
from crystallize.experiment import Experiment
from crystallize.hypothesis import (
    Hypothesis,
    HypothesisResult,
    MetricSamples,
    Verifier,
    hypothesis,
    verifier,
)
from crystallize.pipeline import Pipeline
from crystallize.pipeline_step import PipelineStep, pipeline_step
from crystallize.plugins import (
    ArtifactPlugin,
    AsyncExecution,
    BasePlugin,
    ExecutionPlugin,
    LoggingPlugin,
    ParallelExecution,
    SeedPlugin,
    SerialExecution,
)
from crystallize.resources import resource_factory
from crystallize.result import Result
from crystallize.treatment import Treatment, treatment
from crystallize.utils.context import FrozenContext, standalone_context
from crystallize.utils.lazy import lazy_attributes

if TYPE_CHECKING:
    from crystallize.config.graph import ExperimentGraph
    from crystallize.confirm import Confirmation, Exploration, explore
    from crystallize.plugins.execution.ray import RayExecution
    from crystallize.plugins.mlflow import MlflowPlugin
    from crystallize.quick import quick_experiment

__version__ = "0.1.0"

# Optional or heavier parts, imported on first access.
_LAZY = {
    "RayExecution": "crystallize.plugins.execution.ray",
    "ExperimentGraph": "crystallize.config.graph",
    "MlflowPlugin": "crystallize.plugins.mlflow",
    "quick_experiment": "crystallize.quick",
    "explore": "crystallize.confirm",
    "Exploration": "crystallize.confirm",
    "Confirmation": "crystallize.confirm",
}

if not TYPE_CHECKING:  # type checkers see the imports above; a typo stays an error
    __getattr__ = lazy_attributes(__name__, _LAZY)


def __dir__() -> list[str]:
    """The module's names, with the lazily imported ones (for tab completion)."""
    return sorted({*globals(), *_LAZY})


del TYPE_CHECKING, annotations, lazy_attributes  # not part of the public namespace


__all__ = [
    "Artifact",
    "ArtifactPlugin",
    "AsyncExecution",
    "BasePlugin",
    "ClusterConnectionError",
    "ConfigError",
    "Confirmation",
    "ContextMutationError",
    "CrystallizeError",
    "DataSource",
    "ExecutionPlugin",
    "Experiment",
    "ExperimentBusyError",
    "ExperimentGraph",
    "ExperimentValidationError",
    "Exploration",
    "FrozenContext",
    "Hypothesis",
    "HypothesisResult",
    "InsufficientSamplesError",
    "LoggingPlugin",
    "MetricSamples",
    "MissingContextKeyError",
    "MissingMetricError",
    "MissingParameterError",
    "MlflowPlugin",
    "OptionalDependencyError",
    "ParallelExecution",
    "PicklingError",
    "Pipeline",
    "PipelineStep",
    "PluginError",
    "RayExecution",
    "Result",
    "RunFailedError",
    "SeedPlugin",
    "SerialExecution",
    "StoreArgumentError",
    "StoreError",
    "Treatment",
    "VerificationError",
    "Verifier",
    "VerifierArgumentError",
    "WorkerStartError",
    "data_source",
    "explore",
    "hypothesis",
    "pipeline_step",
    "quick_experiment",
    "resource_factory",
    "standalone_context",
    "treatment",
    "verifier",
    "__version__",
]
