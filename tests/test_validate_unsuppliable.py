"""validate() warns about a step parameter that nothing can ever supply, before any
replicate runs (the run goes on: each replicate's MissingParameterError, naming the step
and the parameter, is kept in result.errors as the contract says); a parameter missing
only in some conditions is a UserWarning naming them."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from crystallize import (
    ArtifactPlugin,
    BasePlugin,
    DataSource,
    Experiment,
    MissingParameterError,
    Pipeline,
    PipelineStep,
    data_source,
    pipeline_step,
    resource_factory,
    treatment,
)

CALLS: list[str] = []


@data_source
def load(ctx):
    CALLS.append("load")
    return [1.0, 2.0, 3.0]


@data_source
def load_reading(ctx):
    CALLS.append("load")
    return [float(ctx["replicate"])] * 3  # reads the context: cannot add a key


@pipeline_step()
def scale(data, *, factor):
    return [x * factor for x in data]


@pipeline_step()
def mean(data):
    return data, {"mean": sum(data) / len(data)}


@pipeline_step()
def scale_with_default(data, *, factor=1.0):
    return [x * factor for x in data]


@pipeline_step()
def adds_factor(data, ctx):
    ctx.add("factor", 3.0)
    return data


@pipeline_step()
def reads_ctx(data, ctx):
    seed = ctx.get("seed_used")
    first = ctx["replicate"]
    if "condition" in ctx:
        ctx.metrics.add("seen", first if seed is None else seed)
    return data


@pipeline_step()
async def async_scale(data, *, factor):
    return [x * factor for x in data]


@pipeline_step()
def engine_keys(data, *, replicate, condition, seed_used):
    return data


@pipeline_step()
def contexty(data, context):
    return data


class Doubler(PipelineStep):
    """A class-based step: it may add context keys, so nothing is refused where it runs."""

    def __init__(self, times):
        self.params = {"times": times}

    def __call__(self, data, ctx):
        return [x * self.params["times"] for x in data]


class ClassSource(DataSource):
    def fetch(self, ctx):
        return [1.0, 2.0]


def _experiment(steps, root, **kwargs):
    return Experiment(
        datasource=kwargs.pop("datasource", load()),
        pipeline=Pipeline(steps),
        plugins=[ArtifactPlugin(root_dir=str(root)), *kwargs.pop("plugins", [])],
        replicates=kwargs.pop("replicates", 3),
        name=kwargs.pop("name", "unsupplied"),
        **kwargs,
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    CALLS.clear()
    return tmp_path / "store"


def _missing_warnings(experiment) -> list[str]:
    """The missing-parameter warnings ``experiment.validate()`` gives."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        experiment.validate()
    return [str(w.message) for w in caught if "needs the parameter" in str(w.message)]


@pytest.mark.filterwarnings("ignore:Treatment 'big' sets 'scale_by'")
def test_reproducer_is_warned_about_before_anything_runs(root):
    experiment = _experiment(
        [scale(), mean()], root, treatments=[treatment("big", {"scale_by": 2})], replicates=20, name="r01"
    )
    [message] = _missing_warnings(experiment)
    assert CALLS == []  # before any datasource ran
    assert "Step 'scale' needs the parameter 'factor'" in message
    assert "the baseline and treatment 'big'" in message and "every replicate of the run will fail" in message
    assert "factor=... in def scale" in message  # a default
    assert "scale(factor=2)" in message  # fixed in the factory call
    assert "initial_ctx={'factor': ...}" in message and "treatment('name', {'factor': ...})" in message
    with pytest.warns(UserWarning, match="needs the parameter 'factor'"):
        result = experiment.run()
    assert len(result.errors) == 40  # as the contract has it: each replicate's clear error
    assert {(e.step, e.exception_type) for e in result.errors} == {("scale", "MissingParameterError")}
    assert "factor" in result.errors[0].message


@pytest.mark.parametrize(
    "build",
    [
        lambda root: _experiment([scale_with_default(), mean()], root),
        lambda root: _experiment([scale(factor=2), mean()], root),
        lambda root: _experiment([scale(2), mean()], root),
        lambda root: _experiment([scale(), mean()], root, initial_ctx={"factor": 2}),
        lambda root: _experiment([engine_keys(), mean()], root),
    ],
    ids=["default", "fixed", "fixed-positionally", "initial_ctx", "engine-keys"],
)
def test_supplied_parameters_pass(root, build):
    experiment = build(root)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        experiment.validate()
    result = experiment.run()
    assert not result.errors


def test_set_by_every_treatment_but_not_the_baseline_warns_once_and_runs(root):
    experiment = _experiment(
        [scale(), mean()], root, treatments=[treatment("a", {"factor": 2}), treatment("b", {"factor": 3})]
    )
    with pytest.warns(UserWarning) as caught:
        result = experiment.run()
    messages = [str(w.message) for w in caught if "needs the parameter" in str(w.message)]
    assert len(messages) == 1
    assert "Step 'scale' needs the parameter 'factor'" in messages[0]
    assert "nothing supplies in the baseline" in messages[0]
    assert "initial_ctx={'factor': ...}" in messages[0]
    assert {e.condition for e in result.errors} == {"baseline"}
    assert len(result.metrics.treatments["a"].metrics["mean"]) == 3


@pytest.mark.filterwarnings("ignore:Treatment 'b' sets 'other'")
def test_treatment_lacking_it_is_named_in_the_warning(root):
    experiment = _experiment(
        [scale(), mean()], root, initial_ctx={}, treatments=[treatment("a", {"factor": 2}), treatment("b", {"other": 1})]
    )
    with pytest.warns(UserWarning, match=r"nothing supplies in the baseline and treatment 'b'"):
        experiment.validate()


def test_run_without_the_treatments_that_set_it_warns_that_nothing_can_succeed(root):
    experiment = _experiment([scale(), mean()], root, treatments=[treatment("a", {"factor": 2})])
    with pytest.warns(UserWarning, match="supply in the baseline, so every replicate of the run will fail"):
        result = experiment.run(treatments=[])
    assert {e.condition for e in result.errors} == {"baseline"}


def test_apply_of_the_baseline_warns_then_raises_the_steps_error(root):
    experiment = _experiment([scale(), mean()], root, treatments=[treatment("a", {"factor": 2})])
    with pytest.warns(UserWarning, match="needs the parameter 'factor'"), pytest.raises(MissingParameterError):
        experiment.apply()
    assert experiment.apply(treatment="a") == [2.0, 4.0, 6.0]


def test_async_step_is_checked(root):
    experiment = _experiment([async_scale(), mean()], root)
    assert "Step 'async_scale' needs the parameter 'factor'" in _missing_warnings(experiment)[0]


def test_reading_the_context_does_not_count_as_supplying(root):
    experiment = _experiment([reads_ctx(), scale(), mean()], root, datasource=load_reading())
    assert "needs the parameter 'factor'" in _missing_warnings(experiment)[0]


def test_did_you_mean_a_key_that_is_set(root):
    experiment = _experiment([scale(), mean()], root, treatments=[treatment("t", {"facter": 2})])
    assert "treatment 't' sets 'facter': a typo?" in _missing_warnings(experiment)[0]


def test_parameter_meant_as_the_context_gets_the_hint(root):
    experiment = _experiment([contexty(), mean()], root)
    assert "name it ctx or annotate it FrozenContext" in _missing_warnings(experiment)[0]


def test_a_swapped_in_step_missing_it_in_its_condition_warns(root):
    experiment = _experiment(
        [scale(factor=1), mean()], root, treatments=[treatment("t", steps={"scale": scale()})]
    )
    with pytest.warns(UserWarning, match=r"nothing supplies in treatment 't':"):
        experiment.validate()


def test_every_condition_lacking_some_parameter_says_nothing_can_succeed(root):
    @pipeline_step()
    def offset(data, *, shift):
        return [x + shift for x in data]

    experiment = _experiment(
        [scale(), mean()], root,
        treatments=[treatment("t", {"factor": 2}, pipeline=[scale(), offset(), mean()])],
    )
    message = " ".join(_missing_warnings(experiment))
    assert "Step 'scale' needs the parameter 'factor', which nothing can supply in the baseline," in message
    assert "Step 'offset' needs the parameter 'shift', which nothing can supply in treatment 't'," in message


def test_a_treatment_swapping_the_step_out_leaves_it_to_the_baseline(root):
    experiment = _experiment(
        [scale(), mean()], root, treatments=[treatment("t", steps={"scale": scale(factor=2)})]
    )
    with pytest.warns(UserWarning, match="nothing supplies in the baseline"):
        experiment.validate()
    experiment = _experiment([scale(), mean()], root, treatments=[treatment("t", pipeline=[mean()])])
    with pytest.warns(UserWarning, match="nothing supplies in the baseline"):
        experiment.validate()


class AddsInHook(BasePlugin):
    def before_replicate(self, experiment, ctx):
        ctx.add("factor", 2.0)


class AddsBeforeRun(BasePlugin):
    def before_run(self, experiment):
        experiment.initial_ctx.setdefault("factor", 2.0)


@pytest.mark.parametrize(
    "extra",
    [
        {"pipeline_steps": [adds_factor(), scale(), mean()]},
        {"pipeline_steps": [Doubler(2), scale(), mean()]},
        {"plugins": [AddsInHook()]},
        {"plugins": [AddsBeforeRun()]},
        {"initial_ctx": {"db": resource_factory(lambda ctx: "connection")}},
        {"treatments": [treatment("fn", lambda ctx: ctx.add("factor", 2.0))], "baseline_warns": True},
        {"datasource": ClassSource()},
    ],
    ids=["step-adds", "class-step", "hook", "before-run", "resource", "treatment-function", "class-datasource"],
)
def test_whatever_could_add_the_key_is_not_refused(root, extra):
    steps = extra.pop("pipeline_steps", [scale(), mean()])
    baseline_warns = extra.pop("baseline_warns", False)
    experiment = _experiment(steps, root, **extra)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        experiment.validate()
    missing = [str(w.message) for w in caught if "needs the parameter" in str(w.message)]
    assert len(missing) == (1 if baseline_warns else 0)


def test_a_treatment_datasource_using_the_context_makes_only_its_condition_uncertain(root):
    experiment = _experiment([scale(), mean()], root, treatments=[treatment("t", {}, datasource=ClassSource())])
    with pytest.warns(UserWarning, match="nothing supplies in the baseline:"):
        experiment.validate()


def test_class_based_step_parameters_are_not_checked(root):
    experiment = _experiment([Doubler(2), mean()], root)
    experiment.validate()
    assert not experiment.run().errors


def test_debug_of_a_treatment_is_checked_for_its_condition_alone(root):
    experiment = _experiment([scale(), mean()], root, treatments=[treatment("t", {"factor": 2})])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        experiment.debug(treatment="t")  # the baseline, which lacks 'factor', does not run
    assert not [w for w in caught if "needs the parameter" in str(w.message)]
    with pytest.warns(UserWarning, match="nothing can supply in the baseline"):
        experiment.debug()
