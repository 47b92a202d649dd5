"""Thread-pool and async runs keep a bounded window of replicates in flight instead of
queueing every replicate up front, so workers never run far ahead of the reader and
memory does not grow with the number of replicates."""

import asyncio
import threading
import time

import pytest

from crystallize import (
    AsyncExecution,
    Experiment,
    ParallelExecution,
    Pipeline,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.plugins.execution.asynchronous import MOST_WAITING
from crystallize.plugins.execution.parallel import THREAD_TASKS_PER_WORKER

pytestmark = pytest.mark.filterwarnings("ignore:SeedPlugin is combined with executor_type='thread'")

WORKERS = 2
#: The most replicates that may start before the reader takes more than its first record:
#: the window, plus the one that topped it up when the first record arrived.
MOST_AHEAD = THREAD_TASKS_PER_WORKER * WORKERS + 1

STARTED: set[int] = set()
LOCK = threading.Lock()


@data_source
def value(ctx):
    return ctx["replicate"]


@pipeline_step()
def note_start(data, ctx):
    with LOCK:
        STARTED.add(ctx["replicate"])
    ctx.metrics.add("value", data)
    return data


def experiment(replicates, execution=None, **kwargs):
    return Experiment(
        datasource=value(),
        pipeline=Pipeline([note_start()]),
        plugins=[execution or ParallelExecution(max_workers=WORKERS, executor_type="thread")],
        replicates=replicates,
        **kwargs,
    )


def test_threads_do_not_run_ahead_of_a_reader_that_pauses():
    STARTED.clear()
    stream = experiment(300).stream()
    records = iter(stream)  # kept: a dropped iterator closes the stream
    next(records)
    time.sleep(0.5)  # every replicate would run meanwhile if all were queued up front
    with LOCK:
        ahead = len(STARTED)
    stream.close()
    assert 1 <= ahead <= MOST_AHEAD, f"{ahead} of 300 replicates started"


def test_replicates_never_queued_do_not_start_after_the_stream_is_closed():
    STARTED.clear()
    stream = experiment(300).stream()
    records = iter(stream)
    next(records)
    stream.close()
    time.sleep(0.3)
    with LOCK:
        started = len(STARTED)
    assert started <= MOST_AHEAD


def test_every_replicate_of_every_condition_arrives_through_the_window():
    STARTED.clear()
    result = experiment(57, treatments=[treatment("t", {"x": 1})]).run()
    assert result.errors == []
    assert sorted(result.metrics.baseline.metrics["value"]) == list(range(57))
    assert sorted(result.metrics.treatments["t"].metrics["value"]) == list(range(57))
    assert set(range(57)) == STARTED


@pipeline_step()
def count_tasks(data, ctx):
    ctx.metrics.add("tasks", len(asyncio.all_tasks()))
    return data


@pytest.mark.parametrize("limit", [None, 2])
def test_async_creates_a_task_only_for_a_replicate_it_starts(limit):
    result = Experiment(
        datasource=value(),
        pipeline=Pipeline([count_tasks()]),
        plugins=[AsyncExecution(max_concurrency=limit)],
        replicates=200,
    ).run()
    tasks = result.metrics.baseline.metrics["tasks"]
    assert len(tasks) == 200
    # the run's own task, and the replicates in flight: the step never awaits, so without
    # a limit one at a time, else at most the limit
    assert max(tasks) <= 1 + (limit or 1)


def test_async_starts_no_more_replicates_while_the_reader_is_behind():
    STARTED.clear()
    stream = experiment(1000, AsyncExecution()).stream()
    records = iter(stream)  # kept: a dropped iterator closes the stream
    next(records)
    time.sleep(0.5)  # the loop would run every replicate meanwhile, their results waiting
    with LOCK:
        ahead = len(STARTED)
    stream.close()
    # the one read, those waiting for the reader, and one that may be running
    assert 1 <= ahead <= MOST_WAITING + 2, f"{ahead} of 1000 replicates started"
