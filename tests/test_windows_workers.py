"""Process pools on Windows take at most 61 workers (a limit of the standard library's
ProcessPoolExecutor there); ParallelExecution keeps its default under it and refuses a
larger explicit size up front. Windows is emulated: ``sys.platform`` reads "win32" and
the machine has 64 logical CPUs."""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process as cfp
import os
import sys
import types

import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    ExperimentValidationError,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
)
from crystallize.plugins.execution import parallel


@data_source
def zero(ctx):
    return 0


@pipeline_step()
def one(data, ctx):
    return data, {"x": 1.0}


class _SysOn(types.ModuleType):
    """``sys`` as a module on another platform sees it: only ``platform`` differs."""

    def __init__(self, platform):
        super().__init__("sys")
        self.platform = platform

    def __getattr__(self, name):
        return getattr(sys, name)


@pytest.fixture
def windows_64_cpus(monkeypatch):
    """Windows with 64 logical CPUs, for ParallelExecution and the stdlib's process pool."""
    monkeypatch.setattr(parallel, "sys", _SysOn("win32"))
    monkeypatch.setattr(cfp, "sys", _SysOn("win32"))  # the stdlib's max_workers check
    monkeypatch.setattr(os, "cpu_count", lambda: 64)


def test_default_process_pool_is_capped_at_61_on_windows(windows_64_cpus):
    assert ParallelExecution(executor_type="process").workers == 61


def test_default_thread_pool_is_not_capped_on_windows(windows_64_cpus):
    assert ParallelExecution(executor_type="thread").workers == 64


def test_default_is_not_capped_elsewhere(monkeypatch):
    monkeypatch.setattr(parallel, "sys", _SysOn("linux"))
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert ParallelExecution(executor_type="process").workers == 64


def test_explicit_process_pool_over_61_is_refused_on_windows(windows_64_cpus):
    with pytest.raises(ExperimentValidationError) as caught:  # a ValueError too
        ParallelExecution(max_workers=64, executor_type="process")
    message = str(caught.value)
    assert "max_workers=64" in message and "61" in message and "Windows" in message
    assert "max_workers=61" in message  # what to do instead


def test_explicit_sizes_allowed_on_windows(windows_64_cpus):
    assert ParallelExecution(max_workers=61, executor_type="process").workers == 61
    assert ParallelExecution(max_workers=64, executor_type="thread").workers == 64


def test_explicit_process_pool_over_61_is_allowed_elsewhere(monkeypatch):
    monkeypatch.setattr(parallel, "sys", _SysOn("linux"))
    assert ParallelExecution(max_workers=64, executor_type="process").workers == 64


def test_default_process_run_on_windows_with_64_cpus_completes(windows_64_cpus, monkeypatch, tmp_path):
    """The audit's repro: the run used to be stored failed with the stdlib's
    "max_workers must be <= 61". The pool asked for is recorded, then made for real
    (with the emulated Windows check) but smaller, to spare the machine 61 processes."""
    asked = []

    class RecordingPool(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, max_workers=None, *args, **kwargs):
            asked.append(max_workers)
            cfp.ProcessPoolExecutor(max_workers).shutdown()  # the stdlib's own check, no process started
            super().__init__(2, *args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", RecordingPool)
    exp = Experiment(
        datasource=zero(), pipeline=Pipeline([one()]), replicates=100, name="w61",
        plugins=[SeedPlugin(seed=1), ParallelExecution(executor_type="process"), ArtifactPlugin(root_dir=str(tmp_path))],
    )
    result = exp.run()
    assert asked == [61]
    assert result.errors == []
    assert result.metrics.baseline.metrics["x"] == [1.0] * 100


def test_config_workers_over_61_is_a_user_error_on_windows(windows_64_cpus, tmp_path):
    """``workers: 64`` in a config.yaml is refused when the experiment is loaded (the
    command shows it as a user's mistake, without a traceback), not when the run starts."""
    from crystallize.cli.errors import is_user_error

    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "datasources.py").write_text("from crystallize import data_source\n\n@data_source\ndef numbers(ctx):\n    return 1\n")
    (folder / "steps.py").write_text(
        "from crystallize import pipeline_step\n\n@pipeline_step()\ndef total(data, ctx):\n    return data, {'t': data}\n"
    )
    (folder / "config.yaml").write_text(
        "datasource: numbers\nsteps: [total]\nplugins:\n  execution: {strategy: process, workers: 64}\n"
    )
    with pytest.raises(ExperimentValidationError, match="at most 61 worker processes") as caught:
        Experiment.from_yaml(folder)
    assert is_user_error(caught.value)
