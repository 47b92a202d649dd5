"""A treatment value that nothing in its condition can read is reported.

Only when it is certain: the key is no injected step parameter, and no step, datasource,
plugin or context resource of the condition could read the context by key (a step or
datasource function whose ``ctx`` is used for anything but ``ctx.metrics``,
``ctx.record`` and ``ctx.emit``, a class-based step or datasource, a plugin hook that
sees the context, a resource factory in the context).
"""

from __future__ import annotations

import functools
import textwrap
import warnings

import pytest

from crystallize import (
    ArtifactPlugin,
    BasePlugin,
    DataSource,
    Experiment,
    ExperimentValidationError,
    LoggingPlugin,
    Pipeline,
    PipelineStep,
    SeedPlugin,
    data_source,
    pipeline_step,
    resource_factory,
    treatment,
)
from crystallize.optimize import GridSearchOptimizer, RandomSearchOptimizer, optimize


@data_source
def src(ctx, n=3):
    return list(range(n))


@data_source
def src_reading(ctx, n=3):
    return list(range(ctx.get("n", n)))


@pipeline_step()
def add(data, ctx, *, delta=0):
    ctx.metrics.add("total", float(sum(data) + delta))
    ctx.record("size", len(data))
    ctx.emit("added", delta=delta)
    return data


@pipeline_step()
def plain(data):
    return data, {"count": len(data)}


@pipeline_step()
def reads_by_key(data, ctx):
    return data, {"scale": ctx["scale"]}


def _helper(ctx):
    return ctx.get("scale", 1)


@pipeline_step()
def passes_ctx_on(data, ctx):
    return data, {"scale": _helper(ctx)}


class ClassStep(PipelineStep):
    def __call__(self, data, ctx):
        return data


class ClassSource(DataSource):
    def fetch(self, ctx):
        return [1, 2, 3]


def make(*treatments, pipeline=None, datasource=None, plugins=(), initial_ctx=None):
    return Experiment(
        datasource=datasource or src(),
        pipeline=Pipeline(pipeline or [add()]),
        treatments=list(treatments),
        plugins=[ArtifactPlugin(root_dir=None), *plugins],
        initial_ctx=initial_ctx,
        replicates=2,
        name="unread",
    )


def assert_no_warning(experiment):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        experiment.validate()


def test_misspelt_key_warns_at_the_callers_line_and_suggests_the_parameter():
    experiment = make(treatment("t", {"detla": 5}))
    with pytest.warns(UserWarning, match="Treatment 't' sets 'detla'") as caught:
        experiment.validate()
    assert caught[0].filename == __file__
    message = str(caught[0].message)
    assert "did you mean 'delta'?" in message
    assert "reading ctx['detla']" in message
    with pytest.warns(UserWarning, match="'detla'") as caught:
        result = experiment.run()
    assert caught[0].filename == __file__
    assert result.metrics.treatments["t"].metrics["total"] == result.metrics.baseline.metrics["total"]


def test_only_the_unread_key_is_named():
    with pytest.warns(UserWarning) as caught:
        make(treatment("t", {"delta": 1, "detla": 5})).validate()
    assert len(caught) == 1
    assert "'detla'" in str(caught[0].message) and "'delta'" in str(caught[0].message)


def test_without_a_close_name_the_injected_parameters_are_listed():
    with pytest.warns(UserWarning, match=r"\(the steps take: delta\)"):
        make(treatment("t", {"zzz": 5})).validate()


def test_key_of_a_datasource_parameter_explains_that_datasources_get_nothing_from_the_context():
    with pytest.warns(UserWarning, match="'n' is a parameter of datasource 'src'") as caught:
        make(treatment("big", {"n": 20}), pipeline=[plain()]).validate()
    assert "src(n=20)" in str(caught[0].message)


@pytest.mark.parametrize(
    "experiment",
    [
        pytest.param(lambda: make(treatment("t", {"delta": 5})), id="injected"),
        pytest.param(lambda: make(treatment("t", {"scale": 2}), pipeline=[add(), reads_by_key()]), id="ctx-subscript"),
        pytest.param(lambda: make(treatment("t", {"scale": 2}), pipeline=[passes_ctx_on()]), id="ctx-passed-on"),
        pytest.param(lambda: make(treatment("t", {"n": 2}), datasource=src_reading()), id="datasource-reads"),
        pytest.param(lambda: make(treatment("t", {"x": 2}), pipeline=[add(), ClassStep()]), id="class-step"),
        pytest.param(lambda: make(treatment("t", {"x": 2}), datasource=ClassSource()), id="class-datasource"),
        pytest.param(
            lambda: make(treatment("t", {"x": 2}, datasource=ClassSource())), id="treatment-datasource"
        ),
        pytest.param(
            lambda: make(treatment("t", {"x": 2}, steps={"add": reads_by_key()})), id="swapped-step"
        ),
        pytest.param(
            lambda: make(treatment("t", {"x": 2}), initial_ctx={"model": resource_factory(lambda ctx: 1)}),
            id="resource-factory",
        ),
        pytest.param(lambda: make(treatment("t", lambda ctx: None)), id="callable-values"),
    ],
)
def test_no_warning_when_something_may_read_the_key(experiment):
    assert_no_warning(experiment())


class BeforeReplicate(BasePlugin):
    def before_replicate(self, experiment, ctx):
        pass


class AfterStep(BasePlugin):
    def after_step(self, experiment, step, data, ctx):
        pass


class BeforeStep(BasePlugin):
    def before_step(self, experiment, step):
        pass


class OnEvent(BasePlugin):
    def on_event(self, experiment, ctx, event, payload):
        pass


class MySeed(SeedPlugin):
    def before_replicate(self, experiment, ctx):
        super().before_replicate(experiment, ctx)


@pytest.mark.parametrize("plugin", [BeforeReplicate, AfterStep, BeforeStep, OnEvent, MySeed])
def test_plugins_that_see_the_context_may_read_the_key(plugin):
    assert_no_warning(make(treatment("t", {"detla": 5}), plugins=[plugin()]))


def test_built_in_plugins_do_not_count_as_readers():
    experiment = make(treatment("t", {"detla": 5}), plugins=[SeedPlugin(seed=1), LoggingPlugin(verbose=True)])
    with pytest.warns(UserWarning, match="'detla'"):
        experiment.validate()


def _step_from_text(text: str):
    namespace: dict = {"functools": functools}
    exec(textwrap.dedent(text), namespace)  # no source file: the code itself is inspected
    return pipeline_step()(namespace["step"])()


def test_code_without_a_source_file_is_inspected():
    unread = make(treatment("t", {"x": 1}), pipeline=[add(), _step_from_text("""
        def step(data, ctx):
            ctx.metrics.add("n", len(data))
            return data
    """)])
    with pytest.warns(UserWarning, match="'x'"):
        unread.validate()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("return data, {'x': ctx.get('x')}", id="get"),
        pytest.param("return data, {'n': len(ctx)}", id="len"),
        pytest.param("other = ctx\n    return data", id="alias"),
        pytest.param("return data, {'x': (lambda: ctx['x'])()}", id="closure"),
        pytest.param("return data, {'x': locals()['ctx']['x']}", id="locals"),
        pytest.param("return data, {'x': getattr(ctx, 'metrics')}", id="getattr"),
        pytest.param("return data, {'x': ctx.metrics and ctx['x']}", id="mixed"),
    ],
)
def test_any_other_use_of_ctx_may_read(body):
    step = _step_from_text(f"def step(data, ctx):\n    {body}\n")
    assert_no_warning(make(treatment("t", {"x": 1}), pipeline=[add(), step]))


def test_a_wrapped_function_may_read_anything():
    step = _step_from_text("""
        def inner(data, ctx):
            return data

        @functools.wraps(inner)
        def step(*args):
            return inner(*args)
    """)
    assert_no_warning(make(treatment("t", {"x": 1}), pipeline=[add(), step]))


def test_engine_keys_are_errors_not_also_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ExperimentValidationError, match="sets 'replicate'"):
            make(treatment("t", {"replicate": 1})).validate()


def test_fixed_parameter_keeps_its_own_warning_only():
    with pytest.warns(UserWarning) as caught:
        make(treatment("t", {"delta": 100}), pipeline=[add(delta=7)]).validate()
    assert [("fixed parameter wins" in str(w.message)) for w in caught] == [True]


# -- folder experiments -----------------------------------------------------------------------
FOLDER_FILES = {
    "config.yaml": """
        replicates: 2
        datasource: numbers
        steps: [add_delta, total]
        treatments:
          big: {delat: 3.0}
        plugins:
          seed: {seed: 0}
          artifacts: {root_dir: null}
    """,
    "datasources.py": """
        from crystallize import data_source

        @data_source
        def numbers(ctx, n=4):
            return [1.0] * n
    """,
    "steps.py": """
        from crystallize import pipeline_step

        @pipeline_step()
        def add_delta(data, *, delta=0.0):
            return [x + delta for x in data]

        @pipeline_step()
        def total(data):
            return data, {"total": sum(data)}
    """,
}


def test_folder_experiment_treatment_typo_warns_at_run(tmp_path):
    folder = tmp_path / "typo"
    folder.mkdir()
    for name, text in FOLDER_FILES.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    experiment = Experiment.from_yaml(folder)
    with pytest.warns(UserWarning, match="Treatment 'big' sets 'delat'.*did you mean 'delta'") as caught:
        experiment.run()
    assert caught[0].filename == __file__


# -- optimize ---------------------------------------------------------------------------------
@pipeline_step()
def learn(data, ctx, *, lr=0.1):
    ctx.metrics.add("acc", float(lr))
    return data


@pytest.mark.parametrize(
    "optimizer",
    [RandomSearchOptimizer({"lrr": (0.0, 1.0)}, seed=0), GridSearchOptimizer({"lr": [0.1], "lrr": [1, 2]})],
    ids=["random", "grid"],
)
def test_optimize_refuses_a_search_space_key_nothing_reads(optimizer):
    experiment = make(pipeline=[learn()])
    runs = []
    experiment.run = lambda *args, **kwargs: runs.append(1)  # must not be reached
    with pytest.raises(ExperimentValidationError) as info:
        optimize(experiment, optimizer, num_trials=2, replicates_per_trial=2, metric="acc", direction="maximize")
    assert runs == []
    message = str(info.value)
    assert message.startswith("optimize(): the search space sets 'lrr', but nothing reads it")
    assert "did you mean 'lr'?" in message


def test_optimize_accepts_keys_a_step_reads():
    found = optimize(
        make(pipeline=[learn()]), GridSearchOptimizer({"lr": [0.1, 0.5]}),
        num_trials=None, replicates_per_trial=2, metric="acc", direction="maximize",
    )
    assert found.best_values == {"lr": 0.5}
