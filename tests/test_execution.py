import asyncio
import os
import threading

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
    treatment,
)
from crystallize.plugins.execution.parallel import batches


@data_source
def value(ctx):
    return ctx["replicate"]


@pipeline_step()
def record_pid(data, ctx):
    ctx.metrics.add("pid", os.getpid())
    ctx.metrics.add("value", data)
    return data


class Gauge:
    """Counts how many replicates are in flight at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.current = 0
        self.peak = 0

    def enter(self):
        with self.lock:
            self.current += 1
            self.peak = max(self.peak, self.current)

    def leave(self):
        with self.lock:
            self.current -= 1


GAUGE = Gauge()


@pipeline_step()
async def slow_async(data, ctx):
    GAUGE.enter()
    try:
        await asyncio.sleep(0.05)
    finally:
        GAUGE.leave()
    ctx.metrics.add("value", data)
    return data


@data_source
async def async_source(ctx):
    await asyncio.sleep(0)
    return ctx["replicate"] * 10


def run(execution, pipeline, replicates=6, datasource=None, **kwargs):
    experiment = Experiment(
        datasource=datasource or value(),
        pipeline=Pipeline(pipeline),
        plugins=[execution, SeedPlugin(seed=1)],
        replicates=replicates,
        **kwargs,
    )
    return experiment.run()


def test_process_execution_uses_worker_processes():
    result = run(ParallelExecution(max_workers=2, executor_type="process"), [record_pid()])
    pids = set(result.metrics.baseline.metrics["pid"])
    assert os.getpid() not in pids
    assert result.metrics.baseline.metrics["value"] == list(range(6))


def test_thread_execution_results_in_order():
    with pytest.warns(RuntimeWarning):
        result = run(ParallelExecution(max_workers=3, executor_type="thread"), [record_pid()],
                     treatments=[treatment("t", {"x": 1})])
    assert result.metrics.baseline.metrics["value"] == list(range(6))
    assert result.metrics.treatments["t"].metrics["value"] == list(range(6))
    assert set(result.metrics.baseline.metrics["pid"]) == {os.getpid()}


def test_async_execution_overlaps_replicates():
    GAUGE.peak = 0
    result = run(AsyncExecution(), [slow_async()], replicates=8)
    assert result.metrics.baseline.metrics["value"] == list(range(8))
    assert GAUGE.peak >= 4


def test_async_execution_respects_max_concurrency():
    GAUGE.peak = 0
    run(AsyncExecution(max_concurrency=2), [slow_async()], replicates=6)
    assert GAUGE.peak == 2


@pytest.mark.parametrize(
    "execution",
    [SerialExecution(), ParallelExecution(max_workers=2, executor_type="process")],
    ids=["serial", "process"],
)
def test_async_steps_and_datasources_work_in_sync_executors(execution):
    result = run(execution, [slow_async()], replicates=3, datasource=async_source())
    assert result.metrics.baseline.metrics["value"] == [0, 10, 20]


def test_async_step_error_is_recorded():
    @pipeline_step()
    async def fails(data, ctx):
        raise RuntimeError("async boom")

    result = run(AsyncExecution(), [fails()], replicates=2)
    assert [e.step for e in result.errors] == ["fails", "fails"]
    assert "async boom" in result.errors[0].message


@pipeline_step()
def exits_on_odd(data, ctx):
    if data % 2:
        raise SystemExit(4)
    ctx.metrics.add("value", data)
    return data


@pipeline_step()
async def exits_async(data, ctx):
    await asyncio.sleep(0)
    if data % 2:
        raise SystemExit(5)
    ctx.metrics.add("value", data)
    return data


@pytest.mark.parametrize(
    ("execution", "step", "code"),
    [
        (SerialExecution(), exits_on_odd(), 4),
        (ParallelExecution(max_workers=2, executor_type="process"), exits_on_odd(), 4),
        (AsyncExecution(), exits_async(), 5),
        (SerialExecution(), exits_async(), 5),
    ],
    ids=["serial", "process", "async", "async-step-serial"],
)
def test_sys_exit_in_a_step_fails_its_replicate_not_the_run(execution, step, code):
    result = run(execution, [step], replicates=4)
    assert result.metrics.baseline.metrics["value"] == [0, 2]
    assert [(e.replicate, e.exception_type) for e in result.errors] == [(1, "SystemExit"), (3, "SystemExit")]
    assert f"sys.exit({code})" in result.errors[0].message


def test_parallel_execution_validates_arguments():
    with pytest.raises(ValueError, match="executor_type"):
        ParallelExecution(executor_type="gpu")
    with pytest.raises(ValueError, match="max_workers"):
        ParallelExecution(max_workers=0)
    assert ParallelExecution().executor_type == "thread"
    assert ParallelExecution().max_workers is None


def test_batches_cover_every_replicate_once():
    for n in (1, 5, 12, 300):
        chunks = batches(range(n), 2)
        assert [rep for chunk in chunks for rep in chunk] == list(range(n))
        assert len(chunks) <= 8


def test_run_experiment_loop_returns_list():
    experiment = Experiment(datasource=value(), pipeline=Pipeline([record_pid()]), replicates=3)
    assert SerialExecution().run_experiment_loop(experiment, lambda rep: rep * 2) == [0, 2, 4]


def test_async_steps_work_when_the_caller_already_runs_an_event_loop():
    # As in a Jupyter notebook: run() and apply() are called from inside a running loop.
    async def notebook_cell():
        experiment = Experiment(
            datasource=async_source(), pipeline=Pipeline([slow_async()]), replicates=2,
            plugins=[SeedPlugin(seed=1)],
        )
        return experiment.run(), experiment.apply(data=7)

    result, applied = asyncio.run(notebook_cell())
    assert not result.errors and result.metrics.baseline.metrics["value"] == [0, 10]
    assert applied == 7


CLEANED: list[int] = []


async def _numbers():
    try:
        for i in range(10):
            yield i
    finally:
        CLEANED.append(1)


@data_source
async def starts_a_task(ctx):
    queue = asyncio.Queue()

    async def fill():
        for i in range(3):
            await queue.put(i)

    ctx.add("filler", asyncio.ensure_future(fill()))  # lives on into the next step
    numbers = _numbers()
    await numbers.__anext__()  # left open: its finally must still run
    ctx.add("numbers", numbers)
    return queue


@pipeline_step()
async def drains(queue, ctx):
    items = [await asyncio.wait_for(queue.get(), 2) for _ in range(3)]
    return queue, {"n": len(items)}


@pytest.mark.parametrize("inside_a_loop", [False, True], ids=["script", "notebook"])
def test_one_loop_per_condition_and_async_generators_closed(inside_a_loop):
    CLEANED.clear()

    def run():
        return Experiment(datasource=starts_a_task(), pipeline=Pipeline([drains()]), replicates=2,
                          plugins=[SeedPlugin(seed=1)]).run()

    async def cell():
        return run()

    result = asyncio.run(cell()) if inside_a_loop else run()
    assert not result.errors and result.metrics.baseline.metrics["n"] == [3, 3]
    import gc

    gc.collect()
    assert len(CLEANED) == 2
