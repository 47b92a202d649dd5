"""A datasource handing every replicate the same object, which a step changes in place:
results then depend on execution order, and the run says so (once)."""

from __future__ import annotations

import threading
import warnings
import weakref

import numpy as np
import pytest

from crystallize import (
    ArtifactPlugin,
    AsyncExecution,
    Experiment,
    Pipeline,
    SeedPlugin,
    SerialExecution,
    Treatment,
    data_source,
    pipeline_step,
)

SHARED = np.arange(1.0, 5.0)  # stands for a dataset loaded once, at import
OTHER = np.arange(1.0, 5.0)  # another one, for a treatment with its own datasource
LOCKED = {"lock": threading.Lock(), "values": [1.0, 2.0]}  # cannot be pickled: no digest


@data_source
def shared(ctx):
    return SHARED


@data_source
def other(ctx):
    return OTHER


@data_source
def fresh(ctx):
    return np.arange(1.0, 5.0)


@data_source
def unpicklable(ctx):
    return LOCKED


class Box:
    """A fresh datasource output per replicate."""

    def __init__(self, value: float) -> None:
        self.value = value


MADE: list[weakref.ref] = []
ALIVE_AT_FETCH: list[int] = []


def _fresh_box(ctx):
    ALIVE_AT_FETCH.append(sum(ref() is not None for ref in MADE))
    box = Box(float(ctx["replicate"]))
    MADE.append(weakref.ref(box))
    return box


@data_source
def fresh_boxes(ctx):
    return _fresh_box(ctx)


@data_source
async def fresh_boxes_async(ctx):
    return _fresh_box(ctx)


@data_source
async def shared_async(ctx):
    return SHARED


@pipeline_step()
def unbox(data, ctx):
    return data.value, {"value": data.value}


@pipeline_step()
def double_in_place(data, ctx):
    data *= 2.0
    return data, {"total": float(data.sum())}


@pipeline_step()
def double_copy(data, ctx):
    return data * 2.0, {"total": float((data * 2.0).sum())}


@pipeline_step()
def append_in_place(data, ctx):
    data["values"].append(0.0)
    return data, {"n": len(data["values"])}


def _run(datasource, step, replicates=3, name="shared_data", treatments=()):
    experiment = Experiment(
        datasource=datasource, pipeline=Pipeline([step]), replicates=replicates,
        plugins=[SeedPlugin(seed=1)], name=name, treatments=list(treatments),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = experiment.run()
    return result, [str(w.message) for w in caught if w.category is RuntimeWarning]


def _in_place_warnings(messages):
    return [m for m in messages if "in place" in m]


def test_an_output_changed_in_place_warns_once_naming_experiment_and_remedy():
    SHARED[:] = np.arange(1.0, 5.0)
    result, messages = _run(shared(), double_in_place(), replicates=4)
    # The order dependence itself: each replicate saw what the previous one left.
    assert result.metrics.baseline.metrics["total"] == [20.0, 40.0, 80.0, 160.0]
    [message] = _in_place_warnings(messages)
    assert "'shared_data'" in message
    assert "modified the datasource's output in place" in message
    assert "order" in message and "copy" in message
    assert _in_place_warnings(result.warnings) == [message]  # kept with the run, not only printed


def test_a_shared_output_left_unchanged_does_not_warn():
    SHARED[:] = np.arange(1.0, 5.0)
    result, messages = _run(shared(), double_copy())
    assert result.metrics.baseline.metrics["total"] == [20.0, 20.0, 20.0]
    assert _in_place_warnings(messages) == []


def test_a_fresh_output_per_replicate_does_not_warn():
    result, messages = _run(fresh(), double_in_place())
    assert result.metrics.baseline.metrics["total"] == [20.0, 20.0, 20.0]
    assert _in_place_warnings(messages) == []
    assert _in_place_warnings(result.warnings) == []


def test_the_warning_is_stored_with_the_run(tmp_path):
    from crystallize.store import list_runs

    SHARED[:] = np.arange(1.0, 5.0)
    experiment = Experiment(
        datasource=shared(), pipeline=Pipeline([double_in_place()]), replicates=2,
        plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=str(tmp_path))], name="stored_warning",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = experiment.run()
    [run] = list_runs(str(tmp_path), "stored_warning")
    assert _in_place_warnings(run.warnings) == _in_place_warnings(result.warnings) != []


def test_an_output_that_cannot_be_hashed_is_skipped():
    LOCKED["values"][:] = [1.0, 2.0]
    result, messages = _run(unpicklable(), append_in_place())
    assert result.metrics.baseline.metrics["n"] == [3, 4, 5]  # changed in place, undetectable
    assert _in_place_warnings(messages) == []
    assert result.errors == []


def test_each_run_warns_again():
    SHARED[:] = np.arange(1.0, 5.0)
    for _ in range(2):
        _, messages = _run(shared(), double_in_place())
        assert len(_in_place_warnings(messages)) == 1


@pytest.mark.parametrize("source", [fresh_boxes, fresh_boxes_async])
@pytest.mark.parametrize("execution", [SerialExecution, AsyncExecution])
def test_a_fresh_output_is_not_kept_alive_for_the_check(source, execution):
    MADE.clear()
    ALIVE_AT_FETCH.clear()
    experiment = Experiment(
        datasource=source(), pipeline=Pipeline([unbox()]), replicates=4,
        plugins=[SeedPlugin(seed=1), execution()], name="fresh",
    )
    result = experiment.run()
    assert result.metrics.baseline.metrics["value"] == [0.0, 1.0, 2.0, 3.0]
    assert ALIVE_AT_FETCH == [0, 0, 0, 0]  # no earlier output outlives its replicate


@pytest.mark.parametrize("execution", [SerialExecution, AsyncExecution])
def test_an_async_datasource_output_changed_in_place_warns(execution):
    SHARED[:] = np.arange(1.0, 5.0)
    experiment = Experiment(
        datasource=shared_async(), pipeline=Pipeline([double_in_place()]), replicates=3,
        plugins=[SeedPlugin(seed=1), execution()], name="shared_async",
    )
    with pytest.warns(RuntimeWarning, match="in place"):
        result = experiment.run()
    assert result.metrics.baseline.metrics["total"] == [20.0, 40.0, 80.0]


def test_conditions_with_their_own_datasources_are_each_checked():
    SHARED[:] = np.arange(1.0, 5.0)
    OTHER[:] = np.arange(1.0, 5.0)
    # baseline and treatment alternate: SHARED, OTHER, SHARED, OTHER, ...
    result, messages = _run(shared(), double_in_place(), treatments=[Treatment("own", datasource=other())])
    assert result.metrics.treatments["own"].metrics["total"] == [20.0, 40.0, 80.0]
    assert len(_in_place_warnings(messages)) == 1
