"""Step and datasource factories that are not bound under their function's name, and
factories made from ``functools.partial``: built, run, and pickled for worker processes."""

import functools
import pickle

import pytest

from crystallize import (
    Experiment,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    SerialExecution,
    data_source,
    pipeline_step,
    standalone_context,
)
from crystallize.pipeline_step import FunctionStep


def _count(ctx, *, n=3):
    return list(range(n))


def _measure(data, ctx, *, scale=1):
    return data, {"total": sum(data) * scale}


def add(data, ctx, *, amount=0, scale=1):
    return [(x + amount) * scale for x in data]


def load(ctx, *, path, n=2):
    return [path] * n


# A decorator applied as a call, the factory bound to another name than the function.
count = data_source(_count)
measure = pipeline_step()(_measure)
measure_cached = pipeline_step(cacheable=True)(_measure)

# Factories made from partials, bound at module scope.
add_two = pipeline_step()(functools.partial(add, amount=2))
load_here = data_source(functools.partial(load, path="here"))


def run(execution, datasource, steps, replicates=2):
    experiment = Experiment(
        datasource=datasource,
        pipeline=Pipeline(steps),
        plugins=[execution, SeedPlugin(seed=1)],
        replicates=replicates,
    )
    return experiment.run()


# --- factories bound under another name -------------------------------------------------


def test_renamed_step_factory_pickles_by_reference():
    step = pickle.loads(pickle.dumps(measure(scale=3)))
    assert isinstance(step, FunctionStep)
    assert step.fn is _measure
    assert step.params == {"scale": 3}
    assert step([1, 2], standalone_context()) == ([1, 2], {"total": 9})


def test_renamed_step_factory_keeps_cacheable():
    step = measure_cached()
    step.cacheable = False
    assert pickle.loads(pickle.dumps(step)).cacheable is False
    assert pickle.loads(pickle.dumps(measure_cached())).cacheable is True


def test_renamed_datasource_factory_pickles_by_reference():
    source = pickle.loads(pickle.dumps(count(n=4)))
    assert source.fn is _count
    assert source.fetch(standalone_context()) == [0, 1, 2, 3]


def test_unbound_factory_pickles_through_its_function():
    # No module-level name holds the factory: rebuilt from the function, options kept.
    step = pickle.loads(pickle.dumps(pipeline_step(cacheable=True)(_measure)(scale=2)))
    assert step.fn is _measure and step.params == {"scale": 2} and step.cacheable is True
    source = pickle.loads(pickle.dumps(data_source(_count)(n=1)))
    assert source.fetch(standalone_context()) == [0]


@pytest.mark.parametrize(
    "execution", [SerialExecution(), ParallelExecution(max_workers=2, executor_type="process")]
)
def test_renamed_factories_run_in_worker_processes(execution):
    result = run(execution, count(n=3), [measure(scale=2)], replicates=4)
    assert result.metrics.baseline.metrics["total"] == [6, 6, 6, 6]


def test_unfindable_function_error_says_what_to_do():
    def local(data, ctx):
        return data

    with pytest.raises(pickle.PicklingError) as caught:
        pickle.dumps(pipeline_step()(local)())
    message = str(caught.value)
    assert "inside a function" in message and "move def local to module scope" in message
    assert "module scope" in message and "@pipeline_step" in message


def test_lambda_error_says_to_use_def():
    factory = data_source(lambda ctx: [1])
    with pytest.raises(pickle.PicklingError) as caught:
        pickle.dumps(factory())
    assert "it is a lambda" in str(caught.value) and "define it with def" in str(caught.value)


# --- factories from functools.partial ---------------------------------------------------


def test_partial_step_is_named_after_its_function():
    step = add_two()
    assert step.name == "add"
    assert add_two.__name__ == "add"
    assert step([1, 2], standalone_context()) == [3, 4]


def test_partial_keywords_are_fixed_not_injected():
    step = add_two()
    assert step.context_keys == ("scale",)
    ctx = standalone_context({"amount": 100, "scale": 10})
    assert step([1], ctx) == [30]  # amount stays 2; scale comes from the context


def test_partial_keywords_cannot_be_given_to_the_factory():
    with pytest.raises(TypeError, match="unknown parameter.*amount"):
        add_two(amount=5)
    assert add_two(scale=3)([1], standalone_context()) == [9]


def test_partial_positional_arguments_bind_leading_parameters():
    def with_offset(offset, data, ctx, *, k=1):
        return [x + offset * k for x in data]

    step = pipeline_step()(functools.partial(with_offset, 10))(k=2)
    assert step.context_keys == ()
    assert step([1], standalone_context()) == [21]


def test_partial_datasource():
    source = load_here(n=3)
    assert source.name == "load"
    assert source.fetch(standalone_context()) == ["here", "here", "here"]
    with pytest.raises(TypeError, match="unknown parameter.*path"):
        load_here(path="there")


def test_partial_step_and_datasource_pickle():
    step = pickle.loads(pickle.dumps(add_two(scale=2)))
    assert step([1], standalone_context()) == [6]
    inline = pickle.loads(pickle.dumps(pipeline_step()(functools.partial(add, scale=5))()))
    assert inline([1], standalone_context()) == [5]
    assert pickle.loads(pickle.dumps(load_here())).fetch(standalone_context()) == ["here", "here"]


@pytest.mark.parametrize(
    "execution", [SerialExecution(), ParallelExecution(max_workers=2, executor_type="process")]
)
def test_partial_factories_run_in_experiments(execution):
    source = data_source(functools.partial(_count, n=4))()
    step = pipeline_step()(functools.partial(_measure, scale=2))()
    result = run(execution, source, [step])
    assert result.metrics.baseline.metrics["total"] == [12, 12]


def test_an_uncalled_partial_factory_in_a_pipeline_says_to_call_it():
    import functools

    from crystallize import Pipeline, pipeline_step

    def add(data, *, amount):
        return data + amount

    factory = pipeline_step()(functools.partial(add, amount=1))
    with pytest.raises(TypeError, match=r"Call it: add\(\)"):
        Pipeline([factory])
