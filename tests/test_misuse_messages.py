"""Library misuse a data scientist makes gets a message naming the fix: a class given to
a function decorator, a non-function to ``pipeline_step()``, a metric assigned instead of
added, and a hypothesis looked up by the object ``@hypothesis`` made."""

from __future__ import annotations

import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    Pipeline,
    data_source,
    hypothesis,
    pipeline_step,
    treatment,
)
from crystallize.stats import welch_t_test


class Normalize:
    def __call__(self, data, ctx):
        return data


@pytest.mark.parametrize(
    ("decorate", "base"),
    [(pipeline_step(), "PipelineStep"), (pipeline_step, "PipelineStep"), (data_source, "DataSource")],
)
def test_a_class_given_to_a_function_decorator_is_pointed_at_the_base_class(decorate, base):
    with pytest.raises(TypeError, match=rf"'Normalize' is a class: make it one by subclassing {base}"):
        decorate(Normalize)


def test_pipeline_step_called_on_a_non_function_says_what_it_takes():
    with pytest.raises(TypeError, match=r"pipeline_step decorates a function def step\(data, ctx.*got 42"):
        pipeline_step()(42)


@data_source
def one(ctx):
    return 1


@pipeline_step()
def assigns_a_metric(data, ctx):
    ctx.metrics["loss"] = 0.5
    return data


def test_assigning_a_metric_says_to_add_it():
    experiment = Experiment(datasource=one(), pipeline=Pipeline([assigns_a_metric()]), replicates=1,
                            plugins=[ArtifactPlugin(root_dir=None)])
    [error] = experiment.run().errors
    assert error.exception_type == "TypeError"
    assert "use ctx.metrics.add('loss', value)" in error.message


@pipeline_step()
def measure(data, ctx, *, shift=0):
    return data, {"m": float(ctx["replicate"] + shift)}


@hypothesis(verifier=welch_t_test(), metrics="m")
def shifted(result):
    return result["p_value"]


def test_get_hypothesis_takes_the_hypothesis_itself():
    result = Experiment(
        datasource=one(), pipeline=Pipeline([measure()]), treatments=[treatment("t", {"shift": 1})],
        hypotheses=[shifted], replicates=3, plugins=[ArtifactPlugin(root_dir=None)],
    ).run()
    assert result.get_hypothesis(shifted) is result.get_hypothesis("shifted") is not None


def test_two_unnamed_lambda_hypotheses_are_told_to_take_names():
    from crystallize import ExperimentValidationError, Hypothesis

    hypotheses = [Hypothesis(verifier=welch_t_test(), metrics="m", ranker=lambda r: 1.0),
                  Hypothesis(verifier=welch_t_test(), metrics="m", ranker=lambda r: 2.0)]
    experiment = Experiment(datasource=one(), pipeline=Pipeline([measure()]), hypotheses=hypotheses)
    with pytest.raises(ExperimentValidationError, match=r"'<lambda>' is used more than once \(name each hypothesis"):
        experiment.validate()


@pytest.mark.parametrize("given", ["abc", [("a", 1), 2], 5])
def test_standalone_context_says_it_takes_a_mapping(given):
    from crystallize import standalone_context

    with pytest.raises(TypeError, match=r"standalone_context takes a mapping of context values"):
        standalone_context(given)


def test_standalone_context_still_takes_pairs():
    from crystallize import standalone_context

    assert standalone_context([("delta", 1)])["delta"] == 1 and standalone_context([])["replicate"] == 0


def test_to_json_says_what_path_it_takes():
    result = Experiment(datasource=one(), pipeline=Pipeline([measure()]), replicates=1,
                        plugins=[ArtifactPlugin(root_dir=None)]).run()
    with pytest.raises(TypeError, match=r"to_json\(path\): a file path \(str or Path\) to write, or None, got 123"):
        result.to_json(123)
