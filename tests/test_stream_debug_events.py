"""experiment.stream(), experiment.debug() and live ctx.emit events."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from rich.console import Console

from crystallize import (
    AsyncExecution,
    BasePlugin,
    Experiment,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    SerialExecution,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.store import list_runs


@data_source
def index(ctx):
    return ctx["replicate"]


@pipeline_step()
def timed(data, ctx):
    # later replicates finish first, so completion order differs from submission order
    time.sleep(0.01 * (5 - data % 6))
    return data, {"value": data}


@pipeline_step()
def chatty(data, ctx):
    ctx.emit("progress", step="chatty", replicate=data)
    time.sleep(0.3)
    return data, {"value": data}


def build(execution, pipeline=None, replicates=12, **kwargs):
    return Experiment(datasource=index(), pipeline=Pipeline(pipeline or [timed()]),
                      plugins=[SeedPlugin(seed=1), execution], replicates=replicates, name="s", **kwargs)


EXECUTORS = [
    pytest.param(SerialExecution(), id="serial"),
    pytest.param(ParallelExecution(max_workers=2, executor_type="process"), id="process"),
    pytest.param(AsyncExecution(), id="async"),
]


@pytest.mark.parametrize("execution", EXECUTORS)
def test_stream_yields_every_record_and_ends_with_a_result(execution):
    stream = build(execution, treatments=[treatment("t", {"x": 1})]).stream()
    seen = [(r.condition, r.replicate) for r in stream]
    assert sorted(seen) == sorted((c, r) for c in ("baseline", "t") for r in range(12))
    assert stream.result is not None and len(stream.result.records) == 24
    assert stream.result.metrics.baseline.metrics["value"] == list(range(12))


def test_stream_yields_in_completion_order_with_processes():
    stream = build(ParallelExecution(max_workers=2, executor_type="process"), replicates=12).stream()
    order = [r.replicate for r in stream]
    assert sorted(order) == list(range(12))


@pytest.mark.parametrize("execution", EXECUTORS)
def test_breaking_out_cancels_and_keeps_what_finished(execution):
    experiment = build(execution, replicates=60)
    got = []
    for record in experiment.stream():
        got.append(record)
        if len(got) == 3:
            break
    (run,) = list_runs("data", "s")
    assert run.status == "cancelled"
    assert 3 <= run.n_records < 60
    # resume finishes the rest without recomputing the kept ones
    result = experiment.run(strategy="resume")
    assert result.info["resumed"] == run.n_records and len(result.records) == 60


class EventLog(BasePlugin):
    def __init__(self):
        self.log = []

    def on_event(self, experiment, ctx, event, payload):
        self.log.append(("event", ctx["replicate"], event, payload))

    def on_replicate_end(self, experiment, record):
        self.log.append(("record", record.replicate))


@pytest.mark.filterwarnings("ignore:SeedPlugin is combined:RuntimeWarning")
@pytest.mark.parametrize("execution", EXECUTORS[:2] + [
    pytest.param(ParallelExecution(max_workers=2, executor_type="thread"), id="thread")])
def test_events_reach_plugins_live_from_every_executor(execution):
    log = EventLog()
    experiment = build(execution, pipeline=[chatty()], replicates=4)
    experiment.plugins.append(log)
    result = experiment.run()
    events = [entry for entry in log.log if entry[0] == "event"]
    assert sorted(e[1] for e in events) == [0, 1, 2, 3]
    assert events[0][2:] == ("progress", {"step": "chatty", "replicate": events[0][1]})
    for rep in range(4):
        # the event of each replicate arrives before its record: it was delivered live
        assert log.log.index(("event", rep, "progress", {"step": "chatty", "replicate": rep})) < log.log.index(("record", rep))
    assert result.records[0].events == [("progress", {"step": "chatty", "replicate": 0})]


def test_debug_runs_one_replicate_without_touching_the_store():
    buffer = io.StringIO()
    experiment = build(SerialExecution(), treatments=[treatment("t", {"x": 1})])
    out = experiment.debug(treatment="t", replicate=4, console=Console(file=buffer, width=160))
    assert out == 4
    text = buffer.getvalue()
    assert "timed" in text and "replicate 4" in text and "value" in text
    assert not Path("data").exists()


def test_debug_can_store_when_asked_and_shows_failures():
    @pipeline_step()
    def broken(data, ctx):
        raise ValueError("nope")

    globals()["broken"] = broken
    buffer = io.StringIO()
    build(SerialExecution(), pipeline=[broken()]).debug(store=True, console=Console(file=buffer, width=160))
    assert "ValueError: nope" in buffer.getvalue()
    (run,) = list_runs("data", "s")
    assert run.n_records == 1 and run.status == "failed"


def test_a_paused_stream_blocks_a_second_run_of_the_same_object_until_closed():
    from crystallize import ExperimentBusyError

    experiment = build(SerialExecution(), replicates=3, treatments=[treatment("t", {"x": 1})])
    stream = experiment.stream(replicates=10, treatments=[])
    records = iter(stream)
    next(records)  # one record read, then the notebook cell ends
    with pytest.raises(ExperimentBusyError, match="stream.close()"):
        experiment.run()
    stream.close()
    result = experiment.run()  # the stream's overrides are gone with it
    assert len(result.records) == 3 * 2


def test_debug_pairs_every_before_run_with_an_after_run():
    from crystallize import BasePlugin

    class Opens(BasePlugin):
        def __init__(self):
            self.calls = []

        def before_run(self, experiment):
            self.calls.append("open")

        def after_run(self, experiment, result):
            self.calls.append(("close", len(result.records), result.run_id is not None))

        def on_replicate_end(self, experiment, record):
            self.calls.append(("record", record.condition, experiment.replicates, len(experiment.treatments)))

    plugin = Opens()
    experiment = Experiment(
        datasource=index(), pipeline=Pipeline([timed()]), replicates=3, name="d", plugins=[SeedPlugin(seed=1), plugin]
    )
    experiment.debug(console=Console(file=io.StringIO()))
    experiment.debug(store=True, console=Console(file=io.StringIO()))
    assert plugin.calls == [
        "open", ("record", "baseline", 1, 0), ("close", 1, False),
        "open", ("record", "baseline", 1, 0), ("close", 1, True),
    ]


@pipeline_step()
def slow_after_the_first(data, ctx):
    if data > 0:
        time.sleep(4)
    return data, {"value": data}


@pytest.mark.filterwarnings("ignore:SeedPlugin is combined:RuntimeWarning")
@pytest.mark.parametrize("kind", ["thread", "process"])
def test_stopping_early_does_not_wait_for_replicates_in_flight(kind):
    plugins = [SeedPlugin(seed=1), ParallelExecution(max_workers=2, executor_type=kind)]
    experiment = Experiment(datasource=index(), pipeline=Pipeline([slow_after_the_first()]),
                            plugins=plugins, replicates=3, name="stop")
    records = iter(experiment.stream())
    next(records)
    t0 = time.perf_counter()
    records.close()
    assert time.perf_counter() - t0 < 2.0, "closing waited for the replicates in flight"


@pipeline_step()
def fails_on_two(data, ctx):
    if data == 2:
        raise RuntimeError("two")
    return data, {"value": data}


def test_every_before_run_gets_its_after_run_when_a_run_stops_early():
    from crystallize import BasePlugin
    from crystallize.exceptions import RunFailedError

    class Opens(BasePlugin):
        def __init__(self):
            self.calls = []

        def before_run(self, experiment):
            self.calls.append("open")

        def after_run(self, experiment, result):
            self.calls.append(("close", len(result.records)))

    plugin = Opens()
    experiment = Experiment(datasource=index(), pipeline=Pipeline([fails_on_two()]), replicates=5,
                            name="stops", plugins=[SeedPlugin(seed=1), plugin])
    with pytest.raises(RunFailedError):
        experiment.run(fail_fast=True)
    records = iter(experiment.stream())
    next(records)
    records.close()
    assert plugin.calls == ["open", ("close", 3), "open", ("close", 1)]
