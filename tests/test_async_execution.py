"""AsyncExecution: per-replicate RNG state across awaits, and a prompt stop."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import numpy as np
import pytest

from crystallize import (
    ArtifactPlugin,
    AsyncExecution,
    Experiment,
    Pipeline,
    SeedPlugin,
    SerialExecution,
    data_source,
    pipeline_step,
    treatment,
)


@data_source
async def draws_after_waiting(ctx):
    # Later replicates wake first, so replicates interleave at every await.
    await asyncio.sleep(0.002 * (8 - ctx["replicate"]))
    first = random.random()
    await asyncio.sleep(0.001 * (ctx["replicate"] % 3))
    return [first, random.random(), float(np.random.random())]


@pipeline_step()
async def record(draws, ctx, *, shift=0.0):
    await asyncio.sleep(0)
    return draws, {"a": draws[0] + shift, "b": draws[1], "c": draws[2], "d": random.random()}


def _metrics(execution, **seeding):
    experiment = Experiment(
        datasource=draws_after_waiting(),
        pipeline=Pipeline([record()]),
        treatments=[treatment("shifted", {"shift": 1.0})],
        replicates=8,
        plugins=[execution, SeedPlugin(**seeding), ArtifactPlugin(root_dir=None)],
    )
    result = experiment.run()
    assert not result.errors
    return {name: cm.metrics for name, cm in result.metrics.conditions().items()}, result


@pytest.mark.parametrize("seeding", [{"seed": 11}, {"seed": 11, "auto_seed": False}])
def test_async_replicates_draw_what_serial_replicates_draw(seeding):
    serial, _ = _metrics(SerialExecution(), **seeding)
    concurrent, _ = _metrics(AsyncExecution(), **seeding)
    assert concurrent == serial


def test_recorded_seed_reproduces_an_async_replicate():
    _, first = _metrics(AsyncExecution())  # seed=None: a base seed is drawn and recorded
    again, _ = _metrics(SerialExecution(), seed=first.base_seed)
    assert again["baseline"] == first.metrics.baseline.metrics


def test_custom_seed_fn_with_concurrency_warns():
    with pytest.warns(RuntimeWarning, match="max_concurrency=1"):
        Experiment(
            datasource=draws_after_waiting(),
            pipeline=Pipeline([record()]),
            plugins=[AsyncExecution(), SeedPlugin(seed=1, seed_fn=random.seed)],
        )


def test_no_warning_with_the_default_seeding_or_one_at_a_time(recwarn):
    for plugins in ([AsyncExecution(), SeedPlugin(seed=1)], [AsyncExecution(max_concurrency=1), SeedPlugin(seed_fn=random.seed)]):
        Experiment(datasource=draws_after_waiting(), pipeline=Pipeline([record()]), plugins=plugins)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_closing_the_results_stops_replicates_not_yet_started():
    started = []

    def replicate_fn(rep):
        started.append(rep)
        time.sleep(0.02)  # a synchronous step: the loop cannot switch tasks meanwhile
        return rep

    results = AsyncExecution().iter_results(None, replicate_fn, range(40))
    assert next(results) == 0
    t0 = time.perf_counter()
    results.close()
    assert time.perf_counter() - t0 < 0.5
    assert len(started) <= 3, f"{len(started)} replicates started after the consumer stopped"
    assert threading.active_count() < 50


async def _child_draw():
    await asyncio.sleep(0)
    return random.random()


@pipeline_step()
async def gathers(draws, ctx):
    a, b = await asyncio.gather(_child_draw(), _child_draw())
    task = asyncio.get_running_loop().create_task(_child_draw())
    return draws, {"a": a, "b": b, "t": await task, "c": random.random()}


@pytest.mark.parametrize("execution", [AsyncExecution(), AsyncExecution(max_concurrency=1)], ids=["free", "one"])
def test_tasks_a_replicate_starts_draw_from_its_stream(execution):
    def metrics(executor):
        return Experiment(
            datasource=draws_after_waiting(), pipeline=Pipeline([gathers()]), replicates=6,
            plugins=[executor, SeedPlugin(seed=3), ArtifactPlugin(root_dir=None)],
        ).run().metrics.baseline.metrics

    assert metrics(execution) == metrics(SerialExecution())


def test_max_concurrency_accepts_numpy_integers_but_not_bools():
    import numpy as np
    import pytest

    from crystallize import AsyncExecution

    assert AsyncExecution(max_concurrency=np.int64(2)).max_concurrency == 2
    assert type(AsyncExecution(max_concurrency=np.int64(2)).max_concurrency) is int
    for bad in (True, 2.0, 0):
        with pytest.raises(ValueError, match="max_concurrency"):
            AsyncExecution(max_concurrency=bad)
