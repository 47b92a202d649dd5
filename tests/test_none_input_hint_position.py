"""The hint for a step failing on a ``None`` input names the part before the failing
step's own position: with a step used twice (``[normalize, fit, normalize]``, ``fit``
without ``return``), it named the datasource, the part before the first ``normalize``."""

from __future__ import annotations

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step
from crystallize.failure_messages import none_input_hint


@data_source
def values(ctx):
    return [3.0, 1.0, 2.0]


@pipeline_step()
def normalize(data, ctx):
    top = max(data)
    return [x / top for x in data]


@pipeline_step()
def fit(data, ctx):
    ctx.metrics.add("n", len(data))  # the mistake under test: no `return data`


def test_a_step_used_twice_is_blamed_on_the_step_before_its_failing_use():
    experiment = Experiment(
        datasource=values(),
        pipeline=Pipeline([normalize(), fit(), normalize()]),
        replicates=1,
        plugins=[ArtifactPlugin(root_dir=None)],
    )
    [error] = experiment.run().errors
    assert error.step == "normalize"
    assert error.message.endswith("(its input was None, returned by step 'fit': does it end with return?)")


def test_no_hint_when_the_stage_is_not_the_step_at_that_position():
    entries = [(None, "normalize"), (None, "fit"), (None, "normalize")]
    failure = TypeError("'NoneType' object is not iterable")
    assert none_input_hint(entries, "normalize", None, failure, 0).endswith("returned by the datasource: does it end with return?)")
    assert none_input_hint(entries, "normalize", None, failure, 2).endswith("returned by step 'fit': does it end with return?)")
    assert none_input_hint(entries, "fit", None, failure, 2) == ""  # a hook after step 2, say
    assert none_input_hint(entries, "datasource", None, failure, 0) == ""
    assert none_input_hint(entries, "normalize", [], failure, 2) == ""  # the input was no None
