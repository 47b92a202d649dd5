"""Treatments that swap the datasource or steps, compared like any other condition."""

from __future__ import annotations

import pytest

from crystallize import (
    Experiment,
    ExperimentValidationError,
    Hypothesis,
    Pipeline,
    SeedPlugin,
    Treatment,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.stats import welch_t_test


@data_source
def cats(ctx):
    import numpy as np

    return np.random.normal(4.0, 0.5, size=10)


@data_source
def dolphins(ctx):
    import numpy as np

    return np.random.normal(150.0, 10.0, size=10)


@pipeline_step()
def weigh(values, ctx):
    return values, {"weight": float(values.mean())}


@pipeline_step()
def double(values, ctx):
    return values * 2


@pipeline_step()
def triple(values, ctx):
    return values * 3


def test_datasource_swap_compared_by_hypothesis():
    experiment = Experiment(
        datasource=cats(),
        pipeline=Pipeline([weigh()]),
        treatments=[Treatment("dolphin", datasource=dolphins())],
        hypotheses=[Hypothesis(verifier=welch_t_test(), metrics="weight", name="heavier")],
        replicates=6,
        plugins=[SeedPlugin(seed=1)],
    )
    result = experiment.run()
    assert max(result.metrics.baseline.metrics["weight"]) < 10
    assert min(result.metrics.treatments["dolphin"].metrics["weight"]) > 100
    verdict = result.get_hypothesis("heavier").results["dolphin"]
    assert verdict["significant"] and verdict["difference"] > 100


def test_step_swap_and_pipeline_replacement():
    experiment = Experiment(
        datasource=cats(),
        pipeline=Pipeline([double(), weigh()]),
        treatments=[
            treatment("tripled", steps={"double": triple()}),
            treatment("raw", pipeline=[weigh()]),
        ],
        replicates=3,
        plugins=[SeedPlugin(seed=2)],
    )
    result = experiment.run()
    base = result.metrics.baseline.metrics["weight"]
    tripled = result.metrics.treatments["tripled"].metrics["weight"]
    raw = result.metrics.treatments["raw"].metrics["weight"]
    assert tripled == pytest.approx([b * 1.5 for b in base])
    assert raw == pytest.approx([b / 2 for b in base])
    assert [s["name"] for s in result.provenance["tripled"][0]["steps"]] == ["triple", "weigh"]


def test_unknown_swapped_step_is_a_validation_error():
    experiment = Experiment(
        datasource=cats(), pipeline=Pipeline([weigh()]),
        treatments=[treatment("bad", steps={"nonexistent": triple()})],
    )
    with pytest.raises(ExperimentValidationError, match="nonexistent.*'weigh'"):
        experiment.validate()


def test_steps_and_pipeline_together_rejected():
    with pytest.raises(ValueError, match="either"):
        Treatment("x", steps={"a": triple()}, pipeline=[weigh()])


def test_apply_uses_the_treatments_shape():
    experiment = Experiment(
        datasource=cats(), pipeline=Pipeline([double()]),
        treatments=[treatment("tripled", steps={"double": triple()})],
    )
    assert list(experiment.apply(treatment="tripled", data=__import__("numpy").ones(2))) == [3.0, 3.0]


def test_process_execution_with_reshaped_conditions():
    from crystallize import ParallelExecution

    experiment = Experiment(
        datasource=cats(), pipeline=Pipeline([weigh()]),
        treatments=[Treatment("dolphin", datasource=dolphins())],
        replicates=4,
        plugins=[SeedPlugin(seed=1), ParallelExecution(max_workers=2, executor_type="process")],
    )
    serial = Experiment(
        datasource=cats(), pipeline=Pipeline([weigh()]),
        treatments=[Treatment("dolphin", datasource=dolphins())],
        replicates=4, plugins=[SeedPlugin(seed=1)],
    ).run()
    assert experiment.run().metrics.treatments["dolphin"].metrics == serial.metrics.treatments["dolphin"].metrics
