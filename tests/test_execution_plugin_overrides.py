"""A ``run_experiment_loop`` written on a subclass of ``ExecutionPlugin`` or of a built-in
executor is the hook the contract names: it is called, and its results are used."""

from __future__ import annotations

import pytest

from crystallize import (
    ArtifactPlugin,
    ExecutionPlugin,
    Experiment,
    ParallelExecution,
    Pipeline,
    SerialExecution,
    data_source,
    pipeline_step,
)


@data_source
def source(ctx):
    return 1


@pipeline_step()
def measure(x, ctx):
    return x, {"m": ctx["replicate"]}


def _run(execution):
    return Experiment(
        datasource=source(), pipeline=Pipeline([measure()]), replicates=3,
        plugins=[execution, ArtifactPlugin(root_dir=None)], name="custom",
    ).run()


def test_a_loop_on_the_base_class_is_called():
    class Backwards(ExecutionPlugin):
        def run_experiment_loop(self, experiment, replicate_fn):
            return [replicate_fn(rep) for rep in reversed(range(experiment.replicates))]

    result = _run(Backwards())
    assert result.metrics.baseline.metrics["m"] == [0, 1, 2] and not result.errors


@pytest.mark.filterwarnings("ignore:SeedPlugin is combined with executor_type:RuntimeWarning")
@pytest.mark.parametrize("base", [SerialExecution, ParallelExecution])
def test_an_override_of_a_built_in_executor_is_called(base):
    calls = []

    class Logged(base):
        def run_experiment_loop(self, experiment, replicate_fn):
            calls.append("before")
            out = super().run_experiment_loop(experiment, replicate_fn)
            calls.append("after")
            return out

    result = _run(Logged())
    assert calls == ["before", "after"]
    assert sorted(result.metrics.baseline.metrics["m"]) == [0, 1, 2]


def test_a_subclass_that_schedules_nothing_says_what_to_implement():
    class Nothing(ExecutionPlugin):
        pass

    with pytest.raises(NotImplementedError, match="Nothing schedules no replicates: implement iter_results"):
        _run(Nothing())
