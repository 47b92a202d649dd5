"""AsyncExecution and async steps in depth: stopping between steps, a step's own
CancelledError, tasks a step leaves running, and arguments refused up front."""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
import threading
import time

import pytest

from crystallize import (
    AsyncExecution,
    Experiment,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    SerialExecution,
    data_source,
    pipeline_step,
)


@data_source
def one(ctx):
    return 1


@pipeline_step()
async def waits(x, ctx):
    await asyncio.sleep(0.05)
    return x


@pipeline_step()
def blocks(x, ctx):
    time.sleep(0.4)
    return x, {"v": x}


def test_ctrl_c_under_async_waits_for_one_synchronous_step_not_every_replicates():
    # Every replicate wakes from its await at once and would run its 0.4 s sync step
    # before the loop got to the cancellation: 6 x 0.4 s.
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([waits(), blocks()]), replicates=6,
        plugins=[SeedPlugin(seed=1), AsyncExecution()],
    )
    timer = threading.Timer(0.25, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        experiment.run()
    elapsed = time.perf_counter() - t0
    timer.join()
    assert elapsed < 1.3, f"Ctrl+C took {elapsed:.2f} s to stop the run"


async def _request(delay):
    await asyncio.sleep(delay)
    return delay


@pipeline_step()
async def hedged(x, ctx):
    """Races two requests and cancels the loser; replicate 2 awaits it (a CancelledError)."""
    rep = ctx["replicate"]
    fast = asyncio.create_task(_request(0.01 + 0.005 * rep))
    slow = asyncio.create_task(_request(0.5))
    done, pending = await asyncio.wait({fast, slow}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
        if rep == 2:
            await task
    return x, {"latency": next(iter(done)).result()}


@pipeline_step()
async def gives_up(x, ctx):
    await asyncio.sleep(0.005 * ctx["replicate"])
    if ctx["replicate"] == 2:
        raise asyncio.CancelledError("user cancelled")
    return x, {"latency": 0.0}


EXECUTORS = {
    "async": AsyncExecution,
    "serial": SerialExecution,
    "thread": lambda: ParallelExecution(max_workers=2, executor_type="thread"),
}


@pytest.mark.filterwarnings("ignore:SeedPlugin is combined with executor_type='thread'")
@pytest.mark.parametrize("step", [hedged, gives_up], ids=["awaits-cancelled-task", "raises"])
@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_a_cancelled_error_from_a_step_fails_only_its_replicate(executor, step):
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([step()]), replicates=5, plugins=[EXECUTORS[executor]()],
    )
    result = experiment.run()
    assert [(e.replicate, e.step, e.exception_type) for e in result.errors] == [(2, step().name, "CancelledError")]
    assert len(result.metrics.baseline.metrics["latency"]) == 4


events: list[tuple[str, int]] = []


async def _heartbeat(rep):
    try:
        while True:
            await asyncio.sleep(0.005)
    except asyncio.CancelledError:
        events.append(("cancelled", rep))
        raise


@pipeline_step()
async def starts_heartbeat(x, ctx):
    asyncio.create_task(_heartbeat(ctx["replicate"]))
    await asyncio.sleep(0.02)
    return x, {"v": x}


@pytest.mark.parametrize("executor", ["async", "serial"])
def test_tasks_a_step_leaves_running_are_cancelled_cleanly(executor, monkeypatch):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    events.clear()
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([starts_heartbeat()]), replicates=3,
        plugins=[SeedPlugin(seed=1), EXECUTORS[executor]()],
    )
    assert not experiment.run().errors
    gc.collect()
    assert sorted(events) == [("cancelled", 0), ("cancelled", 1), ("cancelled", 2)]
    assert [str(u.exc_value) for u in unraisable] == []


@pytest.mark.parametrize("value", [2.5, True, "3", 0, -1])
def test_max_concurrency_must_be_a_positive_int(value):
    with pytest.raises(ValueError, match="max_concurrency must be a positive int or None"):
        AsyncExecution(max_concurrency=value)


def test_max_concurrency_accepts_a_positive_int_or_none():
    assert AsyncExecution(max_concurrency=3).max_concurrency == 3
    assert AsyncExecution().max_concurrency is None


def test_an_async_generator_step_is_refused_at_decoration():
    with pytest.raises(TypeError, match=r"gen_step.*async generator.*return"):

        @pipeline_step()
        async def gen_step(x, ctx):
            yield x


def test_an_async_generator_datasource_is_refused_and_max_workers_must_not_be_a_bool():
    from crystallize import ParallelExecution, data_source

    async def streaming(ctx):
        yield 1

    with pytest.raises(TypeError, match="@data_source"):
        data_source(streaming)
    with pytest.raises(ValueError, match="positive int"):
        ParallelExecution(max_workers=True)
