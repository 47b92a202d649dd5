"""Built-in plugins: seeding, logging, artifacts and execution strategies."""

from crystallize.plugins.artifacts import ArtifactPlugin
from crystallize.plugins.execution import (
    AsyncExecution,
    ExecutionPlugin,
    ParallelExecution,
    SerialExecution,
)
from crystallize.plugins.hookspec import BasePlugin
from crystallize.plugins.logging import LoggingPlugin
from crystallize.plugins.seed import SeedPlugin

__all__ = [
    "ArtifactPlugin",
    "AsyncExecution",
    "BasePlugin",
    "ExecutionPlugin",
    "LoggingPlugin",
    "ParallelExecution",
    "SeedPlugin",
    "SerialExecution",
]
