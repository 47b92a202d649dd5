import asyncio
import pickle

import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    FrozenContext,
    MissingParameterError,
    ParallelExecution,
    Pipeline,
    PipelineStep,
    data_source,
    pipeline_step,
    standalone_context,
    treatment,
)


@data_source
def ten(ctx):
    return 10


@pipeline_step()
def add_delta(data, ctx, *, delta=0):
    return [x + delta for x in data]


@pipeline_step()
def scale(values, *, factor):
    return [v * factor for v in values]


@pipeline_step(cacheable=True)
def cached(data, ctx):
    return data


@pipeline_step
def bare(data):
    return data


@pipeline_step()
async def async_double(data, ctx):
    await asyncio.sleep(0)
    return [x * 2 for x in data]


def test_factory_returns_step_with_name_and_params():
    step = add_delta(delta=5)
    assert isinstance(step, PipelineStep)
    assert step.name == "add_delta"
    assert dict(step.params) == {"delta": 5}
    assert step(list([1, 2]), standalone_context()) == [6, 7]


def test_injection_from_context_and_default():
    step = add_delta()
    assert step([1], standalone_context({"delta": 10})) == [11]
    assert step([1], standalone_context()) == [1]


def test_fixed_value_wins_over_context():
    assert add_delta(delta=1)([1], standalone_context({"delta": 100})) == [2]


def test_first_parameter_any_name_and_ctx_optional():
    assert scale(factor=2)([1, 2], standalone_context()) == [2, 4]
    assert scale()([3], standalone_context({"factor": 3})) == [9]


def test_missing_parameter_names_step_and_parameter():
    with pytest.raises(MissingParameterError) as info:
        scale()([1], standalone_context())
    message = str(info.value)
    assert "scale" in message and "factor" in message


def test_unknown_parameter_rejected_at_construction():
    with pytest.raises(TypeError, match="unknown parameter"):
        add_delta(dleta=1)


def test_cacheable_flag_and_bare_decorator():
    assert cached().cacheable is True
    assert add_delta().cacheable is False
    assert bare()([1], standalone_context()) == [1]


def test_async_step_is_marked():
    step = async_double()
    assert step.is_async
    assert asyncio.run(step([1, 2], standalone_context())) == [2, 4]


def test_decorated_steps_pickle_by_reference():
    step = add_delta(delta=3)
    clone = pickle.loads(pickle.dumps(step))
    assert clone.name == "add_delta" and dict(clone.params) == {"delta": 3}
    assert clone([1], standalone_context()) == [4]


def test_pipeline_lists_steps_and_rejects_factories():
    steps = [add_delta(), scale(factor=2)]
    assert Pipeline(steps).steps == steps
    with pytest.raises(TypeError, match="factory"):
        Pipeline([add_delta(), 3])
    with pytest.raises(TypeError, match=r"Call it: add_delta\(\)"):
        Pipeline([add_delta])


def test_class_based_step():
    class Square(PipelineStep):
        def __call__(self, data, ctx):
            return data * data

    step = Square()
    assert step.name == "Square"
    assert step(3, standalone_context()) == 9


def test_misspelled_parameter_names_step_and_suggests():
    with pytest.raises(TypeError) as info:
        add_delta(dleta=1)
    message = str(info.value)
    assert "step add_delta()" in message and "dleta" in message
    assert "did you mean 'delta'?" in message and "it accepts: delta" in message


@pytest.mark.parametrize("flag", ["yes", 1, None])
def test_non_bool_cacheable_rejected_at_decoration(flag):
    with pytest.raises(TypeError, match="pipeline_step cacheable must be True or False"):
        pipeline_step(cacheable=flag)


def test_option_passed_positionally_rejected():
    with pytest.raises(TypeError, match=r"pipeline_step decorates a function.*cacheable=True"):
        pipeline_step(True)


def _run_and_get_errors(step):
    from crystallize import Experiment, data_source

    @data_source
    def one(ctx):
        return [1]

    return Experiment(datasource=one(), pipeline=Pipeline([step])).run().errors


def test_context_parameter_not_named_ctx_gets_a_hint():
    @pipeline_step()
    def uses_context(data, context, *, delta=0):
        return data

    with pytest.warns(UserWarning, match="name it ctx"):  # validate() says so before the run
        errors = _run_and_get_errors(uses_context())
    assert len(errors) == 1
    message = errors[0].message
    assert "needs parameter 'context'" in message
    assert "name it ctx" in message and "def uses_context(data, ctx" in message


@pipeline_step()
def annotated(data, context: FrozenContext, *, delta=0):
    return data + delta, {"seen": context["condition"]}


@pipeline_step()
def annotated_by_keyword(data, *, c: "FrozenContext", delta=0):
    return data + delta + c["replicate"]


@pipeline_step()
def annotated_as_string(data, context: "crystallize.FrozenContext"):  # noqa: F821 - never evaluated
    return data * context["replicate"]


@pytest.mark.parametrize("executor", ["serial", "process"])
def test_a_parameter_annotated_frozen_context_receives_the_context(executor):
    plugins = [] if executor == "serial" else [ParallelExecution(max_workers=2, executor_type="process")]
    experiment = Experiment(
        datasource=ten(), pipeline=Pipeline([annotated(), annotated_by_keyword(), annotated_as_string()]),
        treatments=[treatment("up", {"delta": 1})], replicates=2, plugins=[ArtifactPlugin(root_dir=None), *plugins],
    )
    result = experiment.run()
    assert result.errors == []
    assert result.metrics.baseline.metrics["seen"] == ["baseline", "baseline"]
    assert result.metrics.treatments["up"].metrics["seen"] == ["up", "up"]
    assert experiment.apply(treatment="up") == (10 + 1 + 1 + 0) * 0
    step = annotated(delta=2)
    assert step.name == "annotated" and step.params == {"delta": 2}
    assert step(1, standalone_context({"condition": "c"})) == (3, {"seen": "c"})
    with pytest.raises(TypeError, match="context"):
        annotated(context=1)  # the context is passed already: not a parameter


def test_other_context_lookalikes_get_the_hint():
    @pipeline_step()
    def underscore(data, *, _ctx):
        return data

    @pipeline_step()
    def short(data, c):
        return data

    for step, name in ((underscore(), "_ctx"), (short(), "c")):
        with pytest.raises(MissingParameterError, match="name it ctx or annotate it FrozenContext") as info:
            step([1], standalone_context())
        assert info.value.parameter == name


def test_ctx_not_right_after_data_gets_a_hint():
    @pipeline_step()
    def late_ctx(data, delta, ctx):
        return data

    with pytest.raises(MissingParameterError, match="receives the context only right after the data"):
        late_ctx(delta=1)([1], standalone_context())


def test_ordinary_missing_parameter_has_no_context_hint():
    with pytest.raises(MissingParameterError) as info:
        scale()([1], standalone_context())
    assert "name it ctx" not in str(info.value)
    assert str(info.value).endswith("or give the parameter a default.")


class Renamed(PipelineStep):
    """A class-based step naming itself in ``__init__`` (module level: it must pickle)."""

    def __init__(self, name):
        self.name = name

    def __call__(self, data, ctx):
        return data


def test_class_based_step_may_set_its_name_in_init():
    step = Renamed("custom")
    assert step.name == "custom" and repr(step) == "custom()"
    assert pickle.loads(pickle.dumps(step)).name == "custom"

    class ClassAttribute(PipelineStep):
        name = "from_class"

    class Computed(PipelineStep):
        @property
        def name(self):
            return "computed"

    assert ClassAttribute().name == "from_class" and Computed().name == "computed"
    unnamed = Renamed.__new__(Renamed)
    assert unnamed.name == "Renamed"
    with pytest.raises(TypeError, match="step name must be a non-empty string"):
        Renamed(3)


def test_named_class_based_step_reaches_provenance():
    from crystallize import Experiment, data_source

    @data_source
    def one(ctx):
        return [1]

    result = Experiment(datasource=one(), pipeline=[Renamed("first"), Renamed("second")]).run()
    assert [s["name"] for s in result.provenance["baseline"][0]["steps"]] == ["first", "second"]


def test_var_keyword_step_takes_any_fixed_parameter():
    @pipeline_step()
    def open_options(data, ctx, *, scale=1, **options):
        return data * scale, options

    step = open_options(foo=1, scale=2)
    assert dict(step.params) == {"foo": 1, "scale": 2}
    # Fixed values are passed through; nothing is injected from the context into **options.
    assert step(3, standalone_context({"bar": 5, "foo": 9})) == (6, {"foo": 1})
    assert step.context_keys == ()
    assert open_options()(3, standalone_context({"bar": 5, "scale": 4})) == (12, {})


def test_keyword_only_ctx_receives_the_context():
    @pipeline_step()
    def kw_ctx(data, *, ctx, k=1):
        return data + k + ctx["replicate"]

    assert kw_ctx()(1, standalone_context({"replicate": 10, "k": 100})) == 111
    assert kw_ctx(k=2)(1, standalone_context({"replicate": 10})) == 13
    assert kw_ctx().context_keys == ("k",)


def test_positional_only_parameter_after_the_data_refused_at_decoration():
    def posonly(d, k, /):
        return d + k

    with pytest.raises(TypeError) as info:
        pipeline_step(posonly)
    message = str(info.value)
    assert "'posonly'" in message and "positional-only parameter(s) k" in message
    assert "def posonly(d, k)" in message

    @pipeline_step()
    def data_and_ctx_positional(d, ctx, /, *, k=1):
        return d + k

    assert data_and_ctx_positional()(1, standalone_context({"k": 5})) == 6


def test_too_many_positional_values_name_the_step():
    with pytest.raises(TypeError, match=r"step add_delta\(\) got 2 positional value\(s\), but only delta can"):
        add_delta(1, 2)
    with pytest.raises(TypeError, match=r"step add_delta\(\) got multiple values for 'delta'"):
        add_delta(1, delta=2)


def test_var_keyword_step_refuses_the_data_and_ctx_names():
    @pipeline_step()
    def open_options(data, ctx, **options):
        return data

    for name in ("ctx", "data"):
        with pytest.raises(TypeError, match=rf"step open_options\(\) got unknown parameter\(s\) {name} \(it accepts: \*\*options\)"):
            open_options(**{name: 1})


@data_source
def labelled_text(ctx):
    return ("some text", {"label": 1})


@pipeline_step()
def identity(data):
    return data


@pipeline_step()
def measure(data):
    return data, {"size": len(data)}


def test_a_pair_shaped_input_passed_through_unchanged_stays_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    experiment = Experiment(datasource=labelled_text(), pipeline=Pipeline([identity(), measure()]), replicates=2)
    result = experiment.run()
    assert result.metrics.baseline.metrics == {"size": [2, 2]}  # no stray "label" metric
    assert experiment.apply() == ("some text", {"label": 1})
