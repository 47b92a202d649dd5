"""A worker process that dies under process execution fails only its own replicate."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from crystallize import (
    Experiment,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    treatment,
)


@data_source
def draws(ctx):
    import random

    return [random.random() for _ in range(3)]


@pipeline_step()
def exits_on(data, ctx, *, victim=-1, exit_code=3):
    if ctx["replicate"] == victim and ctx["condition"] == "baseline":
        os._exit(exit_code)
    return data, {"total": sum(data)}


@pipeline_step()
def killed_once(data, ctx, *, marker_dir):
    marker = Path(marker_dir) / f"replicate-{ctx['replicate']}"
    if ctx["replicate"] == 1 and not marker.exists():
        marker.write_text("killed")
        os.kill(os.getpid(), signal.SIGKILL)
    return data, {"total": sum(data)}


def experiment(execution, step, replicates=10):
    return Experiment(
        datasource=draws(),
        pipeline=Pipeline([step]),
        plugins=[SeedPlugin(seed=11), execution],
        treatments=[treatment("up", {"unused": 1})],
        replicates=replicates,
    )


def process():
    return ParallelExecution(max_workers=2, executor_type="process")


def serial_totals(replicates=10):
    result = Experiment(
        datasource=draws(), pipeline=Pipeline([exits_on()]), plugins=[SeedPlugin(seed=11)],
        treatments=[treatment("up", {"unused": 1})], replicates=replicates,
    ).run()
    return result.metrics.baseline.metrics["total"], result.metrics.treatments["up"].metrics["total"]


def test_worker_exit_fails_only_its_replicate():
    result = experiment(process(), exits_on(victim=4, exit_code=3)).run()
    # Both conditions of replicate 4 ran in the worker call that died.
    assert sorted((e.condition, e.replicate, e.step) for e in result.errors) == [
        ("baseline", 4, "worker"), ("up", 4, "worker")
    ]
    message = result.errors[0].message
    assert "exit code 3" in message and "resume" in message
    baseline, up = serial_totals()
    assert result.metrics.baseline.metrics["total"] == baseline[:4] + baseline[5:]
    assert result.metrics.treatments["up"].metrics["total"] == up[:4] + up[5:]
    assert [r.replicate for r in result.records if r.condition == "baseline"] == list(range(10))


def test_worker_killed_once_is_recomputed(tmp_path):
    result = experiment(process(), killed_once(marker_dir=str(tmp_path))).run()
    assert (tmp_path / "replicate-1").exists()
    assert not result.errors
    baseline, up = serial_totals()
    assert result.metrics.baseline.metrics["total"] == baseline
    assert result.metrics.treatments["up"].metrics["total"] == up


def test_run_without_deaths_is_unaffected():
    result = experiment(process(), exits_on()).run()
    assert not result.errors
    baseline, up = serial_totals()
    assert result.metrics.baseline.metrics["total"] == baseline
    assert result.metrics.treatments["up"].metrics["total"] == up


@pytest.mark.parametrize("replicates", [1, 3])
def test_first_replicate_dying_still_completes(replicates):
    result = experiment(process(), exits_on(victim=0), replicates).run()
    assert sorted((e.condition, e.replicate) for e in result.errors) == [("baseline", 0), ("up", 0)]
    assert len(result.metrics.baseline.metrics.get("total", [])) == replicates - 1


def _unpicklable():
    import threading

    return threading.Lock()


@pipeline_step()
def unpicklable_on(data, ctx, *, victim=-1, part="metric"):
    hit = ctx["replicate"] == victim and ctx["condition"] == "baseline"
    if hit and part == "event":
        ctx.emit("progress", handle=(x for x in data))  # a generator
    if hit and part == "tag":
        ctx.metrics.add("total", sum(data), tags={"lock": _unpicklable()})
        return data
    return data, {"total": _unpicklable() if hit and part == "metric" else sum(data)}


@pytest.mark.parametrize(("part", "named"), [
    ("metric", "metric 'total'"), ("tag", "tags of metric 'total'"), ("event", "event 'progress'"),
])
def test_unpicklable_value_fails_only_its_condition_and_replicate(part, named):
    result = experiment(process(), unpicklable_on(victim=3, part=part)).run()
    assert [(e.condition, e.replicate, e.exception_type) for e in result.errors] == [
        ("baseline", 3, "PicklingError")
    ]
    message = result.errors[0].message
    assert named in message and "cannot be pickled" in message and "picklable" in message
    baseline, up = serial_totals()
    assert result.metrics.baseline.metrics["total"] == baseline[:3] + baseline[4:]
    assert result.metrics.treatments["up"].metrics["total"] == up


def test_max_workers_accepts_numpy_integers():
    np = pytest.importorskip("numpy")
    assert ParallelExecution(max_workers=np.int64(2)).workers == 2
    with pytest.raises(ValueError, match="max_workers"):
        ParallelExecution(max_workers=True)
    with pytest.raises(ValueError, match="max_workers"):
        ParallelExecution(max_workers=2.0)
