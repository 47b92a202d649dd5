"""Guards an audit found missing: engine keys a callable treatment or step overrides,
apply() with a treatment the experiment does not hold, a treatment's datasource, steps
or pipeline assigned after construction, notes naming init_hook and before_run, and
ctx.metrics.add in an on_event hook."""

from __future__ import annotations

import pytest

from crystallize import (
    ArtifactPlugin,
    BasePlugin,
    Experiment,
    Pipeline,
    SeedPlugin,
    Treatment,
    data_source,
    pipeline_step,
    standalone_context,
    treatment,
)
from crystallize.exceptions import ContextMutationError, ExperimentValidationError


@data_source
def source(ctx):
    return 1


@pipeline_step()
def add(data, ctx, *, delta=0):
    return data + delta


@pipeline_step()
def record(data, ctx):
    ctx.emit("seen", value=data)
    return data, {"value": data, "seed": ctx["seed_used"], "replicate": ctx["replicate"]}


@pipeline_step()
def relabels(data, ctx):
    ctx.override(replicate=0)
    return data


def _experiment(**kwargs):
    kwargs.setdefault("pipeline", Pipeline([add(), record()]))
    return Experiment(
        datasource=source(), replicates=2, plugins=[ArtifactPlugin(root_dir=None), SeedPlugin(seed=1)], **kwargs
    )


@pytest.mark.parametrize(
    ("key", "value", "hint"),
    [("seed_used", 99, "SeedPlugin(seed=...)"), ("replicate", 7, "the replicate's index"), ("condition", "z", "condition's name")],
)
def test_a_callable_treatment_cannot_override_an_engine_key(key, value, hint):
    # It made every replicate share seed 99 (or one index, or another condition's name).
    result = _experiment(treatments=[Treatment("t", lambda ctx: ctx.override(**{key: value}))]).run()
    assert result.metrics.baseline.metrics["seed"] == [1, 31338]
    assert result.metrics.treatments["t"].metrics == {}
    assert [(e.condition, e.replicate, e.step, e.exception_type) for e in result.errors] == [
        ("t", 0, "treatment", "ContextMutationError"), ("t", 1, "treatment", "ContextMutationError")
    ]
    assert f"Cannot override '{key}'" in result.errors[0].message and hint in result.errors[0].message


def test_a_step_cannot_override_an_engine_key_but_a_standalone_context_can():
    result = _experiment(pipeline=Pipeline([relabels(), record()])).run()
    assert {e.step for e in result.errors} == {"relabels"}
    ctx = standalone_context({"replicate": 3})
    assert ctx.override(replicate=4)["replicate"] == 4  # testing a step by hand
    with pytest.raises(ContextMutationError):
        ctx.add("replicate", 5)


def test_apply_checks_the_treatment_it_is_given_as_run_does():
    experiment = _experiment()
    for outsider, message in [
        (treatment("x", {"replicate": 4, "seed_used": 5}), "sets 'replicate'"),
        (treatment("x", pipeline=[]), "has no steps"),
        (treatment("x", steps={"nope": add()}), r"swaps step\(s\) 'nope'"),
    ]:
        with pytest.raises(ExperimentValidationError, match=message):
            experiment.apply(treatment=outsider)
    assert experiment.apply(treatment=treatment("x", {"delta": 2})) == 3
    assert experiment.treatments == []  # restored


def test_assigning_a_treatments_parts_is_checked_as_the_constructor_checks_them():
    t = treatment("t", {"other": 1})
    with pytest.raises(TypeError, match="did you pass the factory"):
        t.datasource = source
    with pytest.raises(TypeError, match="replaces step 'add'"):
        t.steps = {"add": add}
    with pytest.raises(TypeError, match="must map step names"):
        t.steps = [add()]
    t.pipeline = [add(), record()]  # a list becomes a Pipeline, as in the constructor
    assert isinstance(t.pipeline, Pipeline) and [s.name for s in t.pipeline.steps] == ["add", "record"]
    with pytest.raises(ValueError, match="not both"):
        t.steps = {"add": add(delta=5)}
    t.pipeline = None
    t.steps = {"add": add(delta=5)}
    with pytest.raises(ValueError, match="not both"):
        t.pipeline = [add()]
    t.datasource = source()
    result = _experiment(treatments=[t], initial_ctx={"other": 0}).run()
    assert result.metrics.treatments["t"].metrics["value"] == [6, 6]


class _Raises(BasePlugin):
    def __init__(self, hook):
        self.hook = hook

    def init_hook(self, experiment):
        if self.hook == "init_hook":
            raise ValueError("boom")

    def before_run(self, experiment):
        if self.hook == "before_run":
            raise ValueError("boom")


@pytest.mark.parametrize("hook", ["init_hook", "before_run"])
def test_init_hook_and_before_run_failures_carry_a_note_naming_the_hook(hook):
    with pytest.raises(ValueError, match="boom") as caught:
        Experiment(datasource=source(), pipeline=Pipeline([add()]), plugins=[_Raises(hook), ArtifactPlugin(root_dir=None)]).run()
    assert any(f"Raised by the plugin hook _Raises.{hook}" in note for note in caught.value.__notes__)


class _AddsInOnEvent(BasePlugin):
    def on_event(self, experiment, ctx, event, payload):
        ctx.metrics.add("from_on_event", 1.0)


def test_ctx_metrics_add_in_on_event_is_refused_like_record():
    experiment = _experiment()
    experiment.plugins.append(_AddsInOnEvent())
    with pytest.raises(ContextMutationError, match="read-only") as caught:
        experiment.run()
    assert any("_AddsInOnEvent.on_event" in note for note in caught.value.__notes__)
