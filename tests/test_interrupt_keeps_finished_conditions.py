"""A Ctrl+C (a step raising KeyboardInterrupt) in the middle of a replicate keeps the
conditions of that replicate that finished before it: "What finished before is kept in
the store and the run is cancelled" (docs/execution.md)."""

from __future__ import annotations

import pytest

from crystallize import (
    AsyncExecution,
    Experiment,
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
def stop_at(data, ctx):
    if ctx["condition"] == "t2" and data == 2:
        raise KeyboardInterrupt
    return data, {"value": float(data)}


@pytest.mark.parametrize("execution", [SerialExecution, AsyncExecution], ids=["serial", "async"])
def test_the_finished_conditions_of_an_interrupted_replicate_are_stored(tmp_path, monkeypatch, execution):
    monkeypatch.chdir(tmp_path)
    plugins = [execution(max_concurrency=1)] if execution is AsyncExecution else [execution()]
    experiment = Experiment(
        datasource=index(), pipeline=[stop_at()], replicates=5, name="interrupted", plugins=plugins,
        treatments=[treatment("t1", {"x": 1}), treatment("t2", {"x": 2})],
    )
    with pytest.raises(KeyboardInterrupt):
        experiment.run()
    (run,) = list_runs("data", "interrupted")
    assert run.status == "cancelled"
    # replicates 0 and 1 whole, and baseline and t1 of replicate 2
    assert run.n_records == 2 * 3 + 2


@pipeline_step()
async def paced(data, ctx):
    """Every condition of every replicate awaits 20 ms: under AsyncExecution without a
    concurrency limit all replicates are in flight together."""
    import asyncio

    await asyncio.sleep(0.02)
    if ctx["condition"] == "t2" and data == 0:
        raise KeyboardInterrupt
    return data, {"value": float(data)}


@pipeline_step()
async def slow_t2(data, ctx):
    import asyncio

    await asyncio.sleep(5.0 if ctx["condition"] == "t2" else 0.02)
    return data, {"value": float(data)}


def _async_experiment(step):
    return Experiment(
        datasource=index(), pipeline=[step], replicates=5, name="interrupted",
        plugins=[AsyncExecution()],
        treatments=[treatment("t1", {"x": 1}), treatment("t2", {"x": 2})],
    )


def _stored_conditions():
    from crystallize.store import load_result

    (run,) = list_runs("data", "interrupted")
    assert run.status == "cancelled"
    return {(r.condition, r.replicate) for r in load_result(run.run_id, "data").records}


def test_async_replicates_in_flight_keep_their_finished_conditions_when_a_step_interrupts(tmp_path, monkeypatch):
    # Replicate 0's t2 raises KeyboardInterrupt while replicates 1-4 are in flight too:
    # their baseline and t1 had finished and must be stored, not dropped with the task.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        _async_experiment(paced()).run()
    stored = _stored_conditions()
    finished = {(c, r) for c in ("baseline", "t1") for r in range(5)}
    assert finished <= stored
    assert ("t2", 0) not in stored


def test_async_ctrl_c_keeps_the_conditions_replicates_in_flight_finished(tmp_path, monkeypatch):
    import signal
    import threading

    monkeypatch.chdir(tmp_path)
    # Baseline and t1 take 20 ms each; every t2 awaits 5 s, when Ctrl+C comes.
    timer = threading.Timer(0.5, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            _async_experiment(slow_t2()).run()
    finally:
        timer.join()
    assert _stored_conditions() == {(c, r) for c in ("baseline", "t1") for r in range(5)}
