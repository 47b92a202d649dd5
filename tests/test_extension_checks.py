"""User extensions (verifiers, class steps and datasources, plugins, the store
directory) are checked when they are made, and their mistakes are named plainly."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from crystallize import (
    ArtifactPlugin,
    DataSource,
    Experiment,
    Hypothesis,
    Pipeline,
    PipelineStep,
    SeedPlugin,
    data_source,
    pipeline_step,
    treatment,
    verifier,
)


@data_source
def values(ctx):
    return [1.0, 2.0, 3.0]


@pipeline_step()
def shift(data, *, effect=0.0):
    shifted = [x + effect for x in data]
    return shifted, {"total": sum(shifted)}


def _experiment(hypothesis: Hypothesis | None = None, plugins: list | None = None) -> Experiment:
    return Experiment(
        datasource=values(),
        pipeline=Pipeline([shift()]),
        treatments=[treatment("a", {"effect": 1.0}), treatment("b", {"effect": 2.0})],
        hypotheses=[hypothesis] if hypothesis is not None else [],
        replicates=3,
        plugins=plugins if plugins is not None else [SeedPlugin(seed=1), ArtifactPlugin(root_dir=None)],
    )


# -- @verifier factories bind their parameters when called ------------------------------


@verifier
def gain(baseline, treatment, *, threshold=0.0):
    g = sum(treatment["total"]) / len(treatment["total"]) - sum(baseline["total"]) / len(baseline["total"])
    return {"gain": g, "significant": g > threshold}


@verifier
def needs_threshold(baseline, treatment, threshold):
    return {"p_value": 0.5, "significant": threshold < 0}


@verifier
def open_ended(baseline, treatment, **options):
    return {"p_value": 0.5, "options": options}


def test_verifier_factory_refuses_a_misspelt_parameter():
    with pytest.raises(TypeError) as info:
        gain(treshold=0.5)
    message = str(info.value)
    assert "gain()" in message and "treshold" in message
    assert "did you mean 'threshold'?" in message
    assert "(it accepts: threshold)" in message


def test_verifier_factory_refuses_a_missing_required_parameter():
    with pytest.raises(TypeError) as info:
        needs_threshold()
    message = str(info.value)
    assert "needs_threshold()" in message and "threshold" in message
    assert "needs_threshold(threshold=...)" in message


def test_verifier_factory_refuses_baseline_or_treatment_as_a_parameter():
    with pytest.raises(TypeError, match=r"open_ended\(\) got unknown parameter\(s\) baseline"):
        open_ended(baseline={"total": [1]})


def test_verifier_factory_accepts_valid_parameters_and_kwargs():
    assert gain(threshold=0.5).params == {"threshold": 0.5}
    assert needs_threshold(threshold=1).params == {"threshold": 1}
    assert open_ended(anything=1).params == {"anything": 1}
    result = _experiment(Hypothesis(gain(threshold=0.5), "total", name="g", ranker=lambda r: -r["gain"])).run()
    assert result.get_hypothesis("g").best == "b"


def test_verifier_that_cannot_take_baseline_and_treatment_is_refused_at_decoration():
    with pytest.raises(TypeError, match=r"takes only baseline.*def one_arg\(baseline, treatment"):

        @verifier
        def one_arg(baseline):
            return {"p_value": 0.5}


# -- class steps and datasources do not share one params dict -----------------------------


def test_class_step_cannot_mutate_the_shared_default_params():
    class Mutator(PipelineStep):
        def __init__(self, k):
            self.params["k"] = k

        def __call__(self, data, ctx):
            return data

    class Plain(PipelineStep):
        def __call__(self, data, ctx):
            return data

    with pytest.raises(TypeError) as info:
        Mutator(5)
    assert "self.params = {" in str(info.value)
    assert dict(PipelineStep.params) == {} and dict(Plain().params) == {}
    assert repr(Plain()) == "Plain()"


def test_class_datasource_cannot_mutate_the_shared_default_params():
    class Source(DataSource):
        def __init__(self):
            self.params.update(n=3)

        def fetch(self, ctx):
            return [1, 2, 3]

    with pytest.raises(TypeError, match=r"self\.params = \{"):
        Source()
    assert dict(DataSource.params) == {}


def test_class_step_without_params_still_runs_with_provenance_and_cache():
    class Double(PipelineStep):
        cacheable = True

        def __call__(self, data, ctx):
            return [2 * x for x in data], {"total": sum(data)}

    class Own(PipelineStep):
        def __init__(self, factor):
            self.params = {"factor": factor}

        def __call__(self, data, ctx):
            return data

    experiment = Experiment(
        datasource=values(),
        pipeline=Pipeline([Double(), Own(3)]),
        plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=None)],
        replicates=2,
    )
    result = experiment.run()
    assert not result.errors
    assert [(s.name, s.params) for s in result.records[0].steps] == [("Double", {}), ("Own", {"factor": 3})]


# -- ArtifactPlugin root_dir ---------------------------------------------------------------


@pytest.mark.parametrize("root_dir", ["", "   ", "\t", Path("  ")])
def test_artifact_plugin_refuses_an_empty_root_dir(root_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as info:
        ArtifactPlugin(root_dir=root_dir)
    message = str(info.value)
    assert repr(root_dir) in message and "root_dir=None" in message and "directory" in message
    assert os.listdir(tmp_path) == []


# -- plugins that are not BasePlugins --------------------------------------------------------


def test_duck_typed_plugin_instance_is_told_to_subclass_base_plugin():
    class Duck:
        def after_run(self, experiment, result):
            pass

    with pytest.raises(TypeError) as info:
        _experiment(plugins=[Duck()])
    message = str(info.value)
    assert "subclass crystallize.BasePlugin" in message and "Duck" in message
    assert "class instead of an instance" not in message


def test_plugin_class_instead_of_instance_is_still_told_to_instantiate():
    with pytest.raises(TypeError, match=r"Did you pass the class instead of an instance \(SeedPlugin instead of SeedPlugin\(\)\)"):
        _experiment(plugins=[SeedPlugin])


# -- best needs a usable score ---------------------------------------------------------------


@verifier
def no_p(baseline, treatment):
    return {"gain": 1.0}


def test_no_best_when_the_default_ranker_finds_no_p_value():
    result = _experiment(Hypothesis(no_p(), "total", name="no_p")).run()
    hyp = result.get_hypothesis("no_p")
    assert all(math.isnan(score) for score in hyp.scores.values()) and len(hyp.scores) == 2
    assert hyp.best is None

    text = result.report()
    assert "Best: a" not in text and "Best: b" not in text
    assert "Best: none (no treatment could be ranked" in text
    assert "p_value" in text.split("Best: none", 1)[1].splitlines()[0]


def test_best_still_picks_the_one_treatment_with_a_finite_score():
    def only_big_gains(output):
        return 0.2 if output["gain"] > 4 else math.inf  # 'a' gains 3, 'b' gains 6

    hyp = _experiment(Hypothesis(gain(), "total", name="g", ranker=only_big_gains)).run().get_hypothesis("g")
    assert hyp.ranking == ["b", "a"] and hyp.best == "b"


def test_the_default_params_behave_as_an_empty_dict():
    """API.md: ``params`` is a mapping; code treating it as the dict it is for decorated
    steps (JSON, copy, merging) works for class steps that set none."""
    import json

    class Plain(PipelineStep):
        def __call__(self, data, ctx):
            return data

    params = Plain().params
    assert isinstance(params, dict)
    assert json.dumps({"plain": params}) == '{"plain": {}}'
    copied = params.copy()
    copied["k"] = 1  # a copy is the caller's own
    assert params | {"a": 1} == {"a": 1} == {"a": 1} | params
    assert Plain().params == {}


def test_a_ranker_of_your_own_may_score_inf_and_still_rank():
    """API.md: ranker ``r(result) -> float``, lower ranks better. ``inf`` is a score like
    any other; only NaN leaves a treatment unranked."""
    hyp = _experiment(Hypothesis(no_p(), "total", name="own", ranker=lambda result: math.inf)).run()
    assert hyp.get_hypothesis("own").best in {"a", "b"}


class _Gain:
    """A verifier written as a callable object."""

    def __call__(self, baseline, treatment, *, threshold=0.0):
        return {"p_value": 0.5, "gain": threshold}


def test_a_callable_object_can_be_a_verifier():
    factory = verifier(_Gain())
    check = factory(threshold=0.1)
    assert check.name == "_Gain" and repr(check) == "_Gain(threshold=0.1)"
    with pytest.raises(TypeError, match=r"verifier _Gain\(\) got unknown parameter"):
        factory(treshold=0.1)
    result = _experiment(Hypothesis(check, "total", name="callable")).run()
    assert result.get_hypothesis("callable").results["a"]["gain"] == 0.1


@verifier
def by_diff(baseline, treatment):
    return {"diff": sum(treatment["total"]) - sum(baseline["total"]), "params": {}}


def test_the_report_reads_a_flat_verifier_output_holding_a_dict_value():
    """A dict value that is not keyed by a metric (``"params": {}``) is part of a flat
    output: the rows are the hypothesis's metric, not one row per dict key."""
    text = _experiment(Hypothesis(by_diff(), "total", name="by_diff")).run().report()
    table = text.split("Hypothesis 'by_diff' on total", 1)[1]
    rows = [line.split() for line in table.splitlines() if line.startswith(("a ", "b "))]
    assert [row[:2] for row in rows] == [["a", "total"], ["b", "total"]]
