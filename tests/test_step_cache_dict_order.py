"""The step cache key counts the order of a dict parameter: a step may depend on it, and
a hit must return what the step would compute with the parameter it is given."""

from __future__ import annotations

from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step


@data_source
def zero(ctx):
    return 0


@pipeline_step(cacheable=True)
def columns(data, *, spec: dict):
    return list(spec)  # the column order of a table the step would write


@pipeline_step()
def first_column(data):
    return data, {"first_is_a": float(data[0] == "a")}


def _run(spec: dict):
    experiment = Experiment(
        datasource=zero(),
        pipeline=Pipeline([columns(spec=spec), first_column()]),
        name="columns",
        plugins=[SeedPlugin(seed=0)],
    )
    result = experiment.run(strategy="rerun")
    return result.metrics.baseline.metrics["first_is_a"], result.full_records()[0].steps[0].cache_hit


def test_a_dict_in_another_order_is_a_miss_not_the_other_orders_output():
    assert _run({"b": 1, "a": 2}) == ([0.0], False)
    assert _run({"a": 2, "b": 1}) == ([1.0], False)


def test_the_same_order_hits():
    _run({"b": 1, "a": 2})
    assert _run({"b": 1, "a": 2}) == ([0.0], True)
