"""``run(treatments=...)`` takes a list, or one treatment or name; "baseline" always runs."""

from __future__ import annotations

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step, treatment


@data_source
def replicate_number(ctx):
    return ctx["replicate"]


@pipeline_step()
def add(data, ctx, *, delta=0):
    return data, {"value": data + delta}


def _experiment():
    return Experiment(
        datasource=replicate_number(), pipeline=Pipeline([add()]), replicates=2,
        treatments=[treatment("plus", {"delta": 1}), treatment("big", {"delta": 100})],
        plugins=[ArtifactPlugin(root_dir=None)],
    )


def test_one_treatment_name_is_not_read_letter_by_letter():
    result = _experiment().run(treatments="big")
    assert list(result.metrics.treatments) == ["big"]
    assert result.metrics.treatments["big"].metrics["value"] == [100, 101]


def test_a_single_treatment_object_and_a_listed_baseline():
    experiment = _experiment()
    only = experiment.run(treatments=treatment("tiny", {"delta": 0.5}))
    assert list(only.metrics.treatments) == ["tiny"]
    baseline_only = experiment.run(treatments=["baseline"])
    assert baseline_only.metrics.treatments == {} and baseline_only.metrics.baseline.metrics["value"] == [0, 1]
    assert [t.name for t in experiment.treatments] == ["plus", "big"]  # for that run only


def test_apply_checks_its_seed():
    import pytest

    experiment = _experiment()
    with pytest.raises(ValueError, match=r"apply\(\) seed must be a non-negative int"):
        experiment.apply(seed=-1)
    with pytest.raises(TypeError, match=r"apply\(\) seed"):
        experiment.apply(seed="7")
    assert experiment.apply(seed=2**32 - 1) == 0
    assert experiment.apply(seed=2**40 + 3) == 0  # seeds as 2**40 + 3 mod 2**32 would


def test_apply_with_data_needs_no_datasource_but_checks_the_rest():
    import pytest

    from crystallize import ExperimentValidationError

    no_source = Experiment(pipeline=Pipeline([add()]), plugins=[ArtifactPlugin(root_dir=None)])
    assert no_source.apply(data=5) == 5
    bad = Experiment(pipeline=Pipeline([add()]), initial_ctx={"seed_used": 3}, plugins=[ArtifactPlugin(root_dir=None)])
    with pytest.raises(ExperimentValidationError, match="initial_ctx sets 'seed_used'"):
        bad.apply(data=5)
