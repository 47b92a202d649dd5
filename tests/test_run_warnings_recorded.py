"""The SeedPlugin's reproducibility warnings (thread execution, a custom seed_fn under
concurrent async execution) are part of the run's record, not only a RuntimeWarning."""

from __future__ import annotations

import random
import warnings

import pytest

from crystallize import (
    ArtifactPlugin,
    AsyncExecution,
    Experiment,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    SerialExecution,
    data_source,
    pipeline_step,
)
from crystallize.reporting_html import render_html
from crystallize.store import load_result


@data_source
def draw(ctx):
    return random.random()


@pipeline_step()
def keep(data, ctx):
    return data, {"x": data}


def _experiment(execution, seed_fn=None) -> Experiment:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the construction warning
        return Experiment(
            datasource=draw(),
            pipeline=Pipeline([keep()]),
            plugins=[SeedPlugin(seed=5, seed_fn=seed_fn), execution, ArtifactPlugin(root_dir="data")],
            name="recorded",
        )


def _run(experiment: Experiment):
    with pytest.warns(RuntimeWarning) as caught:
        result = experiment.run(replicates=2)
    return result, [str(w.message) for w in caught if w.category is RuntimeWarning]


def test_thread_warning_is_in_result_store_and_reports():
    result, emitted = _run(_experiment(ParallelExecution(max_workers=2, executor_type="thread")))
    assert len(emitted) == 1 and "executor_type='thread'" in emitted[0]  # the RuntimeWarning stays
    assert emitted[0] in result.warnings  # ... and the same text is recorded
    assert emitted[0] in result.report()
    stored = load_result(result.run_id, "data")
    assert emitted[0] in stored.warnings
    assert emitted[0] in stored.report()  # what `crystallize show` prints
    assert "executor_type=&#x27;thread&#x27;" in render_html(stored)


def test_async_seed_fn_warning_is_recorded():
    result, emitted = _run(_experiment(AsyncExecution(), seed_fn=random.seed))
    assert len(emitted) == 1 and "AsyncExecution" in emitted[0]
    assert emitted[0] in result.warnings
    assert emitted[0] in load_result(result.run_id, "data").warnings


def test_serial_run_records_no_seed_warning():
    experiment = _experiment(SerialExecution())
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = experiment.run(replicates=2)
    assert result.warnings == []


def test_reproducibility_warning_names_the_problem():
    thread = _experiment(ParallelExecution(max_workers=2, executor_type="thread"))
    seed = thread.get_plugin(SeedPlugin)
    assert "executor_type='thread' (experiment 'recorded')" in seed.reproducibility_warning(thread)
    serial = _experiment(SerialExecution())
    assert serial.get_plugin(SeedPlugin).reproducibility_warning(serial) is None
    one_at_a_time = _experiment(AsyncExecution(max_concurrency=1), seed_fn=random.seed)
    assert one_at_a_time.get_plugin(SeedPlugin).reproducibility_warning(one_at_a_time) is None
