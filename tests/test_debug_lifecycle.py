"""experiment.debug() pairs every before_run with an after_run however the replicate ends."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from crystallize import BasePlugin, Experiment, Pipeline, data_source, pipeline_step
from crystallize.store import list_runs


@data_source
def one(ctx):
    return 1


@pipeline_step()
def fine(data, ctx):
    return data, {"m": 1.0}


@pipeline_step()
def interrupted(data, ctx):
    raise KeyboardInterrupt


@pipeline_step()
def broken(data, ctx):
    raise ValueError("nope")


class Opener(BasePlugin):
    """Records its lifecycle calls: what after_run saw (records, status)."""

    def __init__(self) -> None:
        self.calls: list[object] = []

    def before_run(self, experiment):
        self.calls.append("open")

    def after_run(self, experiment, result):
        self.calls.append(("close", len(result.records), result.info.get("status")))


class RefusesToStart(BasePlugin):
    def before_run(self, experiment):
        raise RuntimeError("cannot start")


class RecordHookFails(BasePlugin):
    def on_replicate_end(self, experiment, record):
        raise OSError("sink gone")


def _debug(pipeline, *plugins, store=False):
    experiment = Experiment(datasource=one(), pipeline=Pipeline(pipeline), plugins=list(plugins), name="dbg")
    return experiment.debug(store=store, console=Console(file=io.StringIO()))


def test_a_later_before_run_failing_closes_the_plugins_already_started():
    opener = Opener()
    with pytest.raises(RuntimeError, match="cannot start"):
        _debug([fine()], opener, RefusesToStart(), store=True)
    assert opener.calls == ["open", ("close", 0, "failed")]
    assert not Path("data").exists(), "nothing is stored when a plugin refuses to start, as in run()"


def test_ctrl_c_in_a_step_still_calls_after_run_and_stores_cancelled():
    opener = Opener()
    with pytest.raises(KeyboardInterrupt):
        _debug([interrupted()], opener, store=True)
    assert opener.calls == ["open", ("close", 0, "cancelled")]
    (run,) = list_runs("data", "dbg")
    assert run.status == "cancelled"


def test_a_record_hook_raising_still_calls_after_run_and_stores_failed():
    opener = Opener()
    with pytest.raises(OSError, match="sink gone"):
        _debug([fine()], opener, RecordHookFails(), store=True)
    assert opener.calls == ["open", ("close", 1, "failed")]
    (run,) = list_runs("data", "dbg")
    assert run.status == "failed" and run.n_records == 1, "as run() stores a run whose record hook raised"


def test_a_failed_replicate_closes_with_a_failed_result():
    opener = Opener()
    _debug([broken()], opener)
    assert opener.calls == ["open", ("close", 1, "failed")]


def test_a_completed_replicate_is_closed_once():
    opener = Opener()
    assert _debug([fine()], opener) == 1
    assert opener.calls == ["open", ("close", 1, None)]


def test_the_execution_plugin_is_not_started_the_replicate_runs_here():
    from crystallize import ParallelExecution

    @pipeline_step()
    def local(data, ctx):  # defined in a function: process workers could not unpickle it
        return data, {"m": 2.0}

    opener = Opener()
    assert _debug([local()], opener, ParallelExecution(max_workers=2, executor_type="process")) == 1
    assert opener.calls == ["open", ("close", 1, None)]
