"""Execution strategies: serial, thread/process pools, asyncio, and Ray (optional)."""

from crystallize.plugins.execution.asynchronous import AsyncExecution
from crystallize.plugins.execution.base import ExecutionPlugin
from crystallize.plugins.execution.parallel import ParallelExecution
from crystallize.plugins.execution.serial import SerialExecution

__all__ = ["AsyncExecution", "ExecutionPlugin", "ParallelExecution", "SerialExecution"]
