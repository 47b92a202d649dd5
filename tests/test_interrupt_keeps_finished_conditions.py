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
