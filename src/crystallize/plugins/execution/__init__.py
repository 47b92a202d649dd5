"""Execution strategies: serial, thread/process pools, asyncio, and Ray (optional)."""

from crystallize.plugins.execution.asynchronous import AsyncExecution
from crystallize.plugins.execution.base import ExecutionPlugin
from crystallize.plugins.execution.parallel import ParallelExecution
from crystallize.plugins.execution.serial import SerialExecution

#: The execution strategies by name: ``--executor`` on the command line and
#: ``plugins.execution.strategy`` in a config.yaml
#: (:func:`crystallize.config.build.execution_plugin` builds each one's plugin).
STRATEGY_NAMES = ("serial", "thread", "process", "async", "ray")

__all__ = ["STRATEGY_NAMES", "AsyncExecution", "ExecutionPlugin", "ParallelExecution", "SerialExecution"]
