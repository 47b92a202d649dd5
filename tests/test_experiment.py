import pickle

import pytest

from crystallize import (
    BasePlugin,
    Experiment,
    ExperimentValidationError,
    LoggingPlugin,
    PicklingError,
    Pipeline,
    SeedPlugin,
    SerialExecution,
    Treatment,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.exceptions import PluginError
from crystallize.plugins import ParallelExecution


@data_source
def counter(ctx, size=3):
    return list(range(size))


@pipeline_step()
def add(data, ctx, *, delta=0):
    return [x + delta for x in data]


@pipeline_step()
def total(data, ctx):
    return data, {"total": sum(data)}


@pipeline_step()
def explode_on_odd(data, ctx):
    if ctx["replicate"] % 2 == 1:
        raise ValueError(f"odd replicate {ctx['replicate']}")
    return data


@pipeline_step()
def needs_factor(data, ctx, *, factor):
    return [x * factor for x in data]


def make(**kwargs):
    kwargs.setdefault("datasource", counter())
    kwargs.setdefault("pipeline", Pipeline([add(), total()]))
    return Experiment(**kwargs)


def test_baseline_and_treatments_metrics_in_replicate_order():
    result = make(treatments=[treatment("plus", {"delta": 2})], replicates=3).run()
    assert result.metrics.baseline.metrics["total"] == [3, 3, 3]
    assert result.metrics.treatments["plus"].metrics["total"] == [9, 9, 9]
    assert [p["replicate"] for p in result.provenance["plus"]] == [0, 1, 2]


def test_run_arguments_override_for_that_run_only():
    plus = treatment("plus", {"delta": 1})
    experiment = make(treatments=[plus], replicates=2)
    other = treatment("other", {"delta": 10})
    result = experiment.run(treatments=[other], replicates=4)
    assert list(result.metrics.treatments) == ["other"]
    assert len(result.metrics.baseline.metrics["total"]) == 4
    assert experiment.replicates == 2 and experiment.treatments == [plus]
    assert list(experiment.run().metrics.treatments) == ["plus"]


def test_treatment_by_name_and_callable():
    def doubled(ctx):
        ctx.add("delta", 100)

    experiment = make(treatments=[treatment("plus", {"delta": 1}), doubled])
    assert [t.name for t in experiment.treatments] == ["plus", "doubled"]
    result = experiment.run(treatments=["plus"])
    assert list(result.metrics.treatments) == ["plus"]
    assert make().run(treatments=[doubled]).metrics.treatments["doubled"].metrics["total"] == [303]
    with pytest.raises(ExperimentValidationError, match="Unknown treatment 'nope'"):
        experiment.run(treatments=["nope"])


def test_failing_replicate_is_recorded_and_others_finish():
    experiment = make(pipeline=Pipeline([explode_on_odd(), total()]), replicates=4,
                      treatments=[treatment("t", {"delta": 1})])
    result = experiment.run()
    assert len(result.errors) == 4
    error = result.errors[0]
    assert (error.condition, error.replicate, error.step) == ("baseline", 1, "explode_on_odd")
    assert "odd replicate 1" in error.message and error.exception_type == "ValueError"
    assert "Traceback" in error.traceback
    assert result.metrics.baseline.metrics["total"] == [3, 3]
    assert result.metrics.baseline.replicates == [0, 1, 2, 3]


def test_datasource_failure_is_recorded():
    @data_source
    def broken(ctx):
        raise OSError("disk gone")

    result = make(datasource=broken(), replicates=2).run()
    assert [e.step for e in result.errors] == ["datasource", "datasource"]
    assert "disk gone" in result.errors[0].message


def test_missing_step_parameter_is_a_clear_error():
    with pytest.warns(UserWarning, match="every replicate of the run will fail"):  # before any ran
        result = make(pipeline=Pipeline([needs_factor()])).run()
    assert result.errors and result.errors[0].step == "needs_factor"
    assert "needs_factor" in result.errors[0].message and "factor" in result.errors[0].message
    fixed = make(pipeline=Pipeline([needs_factor(), total()]), treatments=[treatment("x2", {"factor": 2})])
    with pytest.warns(UserWarning, match="nothing supplies in the baseline"):
        assert fixed.run(treatments=["x2"]).metrics.treatments["x2"].metrics["total"] == [6]


def test_validate_names_every_problem():
    with pytest.raises(ExperimentValidationError) as info:
        Experiment(replicates=0).validate()
    message = str(info.value)
    assert "datasource" in message and "pipeline" in message and "replicates" in message
    with pytest.raises(ExperimentValidationError, match="more than once"):
        make(treatments=[treatment("a", {}), treatment("a", {})]).validate()
    with pytest.raises(ExperimentValidationError, match="call the factory"):
        make(datasource=counter).validate()


def test_validate_refuses_a_pipeline_without_steps():
    with pytest.raises(ExperimentValidationError, match="the pipeline has no steps, so there is nothing to run"):
        make(pipeline=Pipeline([])).validate()
    reshaped = Treatment("empty", {}, pipeline=Pipeline([]))
    with pytest.raises(ExperimentValidationError, match="the pipeline of treatment 'empty' has no steps"):
        make(treatments=[reshaped]).run()


def test_builder_fluent_api():
    experiment = (
        Experiment.builder("built")
        .datasource(counter(size=2))
        .add_step(add())
        .add_step(total())
        .plugins([SeedPlugin(seed=3)])
        .treatments([treatment("t", {"delta": 5})])
        .replicates(2)
        .initial_ctx({"unused": 1})
        .build()
    )
    assert experiment.name == "built" and experiment.replicates == 2
    assert experiment.get_plugin(SeedPlugin).seed == 3
    result = experiment.run()
    assert result.metrics.treatments["t"].metrics["total"] == [11, 11]
    with pytest.raises(ExperimentValidationError):
        Experiment.builder().add_step(add()).build()


def test_builder_takes_lists_or_single_items():
    listed = Experiment.builder().datasource(counter()).add_step(add()).treatments([treatment("t", {"delta": 1})])
    one_by_one = (
        Experiment.builder()
        .datasource(counter())
        .add_step(add())
        .treatments(treatment("t", {"delta": 1}), treatment("u", {"delta": 2}))
        .plugins(SeedPlugin(seed=3))
        .plugins(LoggingPlugin(verbose=True), SerialExecution())
        .hypotheses(*[])
        .build()
    )
    assert [t.name for t in listed.build().treatments] == ["t"]
    assert [t.name for t in one_by_one.treatments] == ["t", "u"]
    assert one_by_one.get_plugin(SeedPlugin).seed == 3
    assert one_by_one.get_plugin(LoggingPlugin).verbose is True
    generated = Experiment.builder().datasource(counter()).add_step(add())
    assert [t.name for t in generated.treatments(treatment(n, {}) for n in "ab").build().treatments] == ["a", "b"]


class Recorder(BasePlugin):
    def __init__(self):
        self.calls = []

    def init_hook(self, experiment):
        self.calls.append("init")

    def before_run(self, experiment):
        self.calls.append("before_run")

    def before_replicate(self, experiment, ctx):
        self.calls.append(("before_replicate", ctx["condition"], ctx["replicate"]))

    def before_step(self, experiment, step):
        self.calls.append(("before_step", step.name))

    def after_step(self, experiment, step, data, ctx):
        self.calls.append(("after_step", step.name, data if not isinstance(data, tuple) else None))

    def on_replicate_end(self, experiment, record):
        self.calls.append(("end", record.condition, record.replicate))

    def after_run(self, experiment, result):
        self.calls.append(("after_run", len(result.records)))


def test_hooks_run_in_order():
    plugin = Recorder()
    experiment = make(pipeline=Pipeline([add()]), plugins=[plugin], replicates=1)
    experiment.run()
    assert plugin.calls == [
        "init",
        "before_run",
        ("before_replicate", "baseline", 0),
        ("before_step", "add"),
        ("after_step", "add", [0, 1, 2]),
        ("end", "baseline", 0),
        ("after_run", 1),
    ]


def test_apply_triggers_every_plugin_hook_and_raises_step_errors():
    plugin = Recorder()
    experiment = make(
        pipeline=Pipeline([add()]), plugins=[plugin], treatments=[treatment("plus", {"delta": 1})], replicates=5
    )
    assert experiment.apply(treatment="plus", data=[5]) == [6]
    assert plugin.calls == [
        "init",
        "before_run",
        ("before_replicate", "plus", 0),
        ("before_step", "add"),
        ("after_step", "add", [6]),
        ("end", "plus", 0),
        ("after_run", 1),
    ]
    # The run's settings are back once apply() returns.
    assert experiment.replicates == 5 and [t.name for t in experiment.treatments] == ["plus"]

    class Results(BasePlugin):
        def after_run(self, experiment, result):
            self.result = result

    seen = Results()
    failing = make(pipeline=Pipeline([needs_factor()]), plugins=[seen])
    with pytest.raises(TypeError, match="factor"):
        failing.apply()
    # after_run saw the failed replicate before the exception reached the caller.
    assert [(e.condition, e.step) for e in seen.result.errors] == [("baseline", "needs_factor")]


def test_user_plugin_replaces_default_and_runs_once():
    class CountingSeed(SeedPlugin):
        def __init__(self):
            super().__init__(seed=1)
            self.count = 0

        def before_replicate(self, experiment, ctx):
            self.count += 1
            super().before_replicate(experiment, ctx)

    seed = CountingSeed()
    experiment = make(plugins=[seed, seed], replicates=3)
    assert [p for p in experiment.plugins if isinstance(p, SeedPlugin)] == [seed]
    experiment.run()
    assert seed.count == 3


def test_two_plugins_of_one_kind_are_rejected():
    with pytest.raises(ExperimentValidationError, match="exactly one SeedPlugin"):
        make(plugins=[SeedPlugin(), SeedPlugin()])
    with pytest.raises(ExperimentValidationError, match="execution plugin"):
        make(plugins=[SerialExecution(), ParallelExecution()])
    with pytest.raises(TypeError, match="instance"):
        make(plugins=[LoggingPlugin])


def test_misspelled_or_misshapen_hooks_fail_at_definition():
    with pytest.raises(PluginError, match="before_replicates"):
        class Typo(BasePlugin):
            def before_replicates(self, experiment, ctx):
                pass

    with pytest.raises(PluginError, match="after_step"):
        class Short(BasePlugin):
            def after_step(self, experiment):
                pass


def test_custom_execution_plugin_with_only_the_hook():
    class Reversed(BasePlugin):
        def run_experiment_loop(self, experiment, replicate_fn):
            return [replicate_fn(rep) for rep in reversed(range(experiment.replicates))]

    experiment = make(plugins=[Reversed(), SeedPlugin(seed=0)], replicates=3)
    assert isinstance(experiment.execution_plugin, Reversed)
    assert not any(isinstance(p, SerialExecution) for p in experiment.plugins)
    result = experiment.run()
    assert result.metrics.baseline.replicates == [0, 1, 2]


def test_unpicklable_step_fails_fast_naming_it():
    @pipeline_step()
    def local_step(data, ctx):
        return data

    experiment = make(pipeline=Pipeline([local_step()]),
                      plugins=[ParallelExecution(max_workers=2, executor_type="process")])
    with pytest.raises(PicklingError, match=r"step 'local_step'.*module scope") as raised:
        experiment.run()
    assert isinstance(raised.value, pickle.PicklingError)  # what code catching pickle's error expects
    from pathlib import Path

    from crystallize.store import list_runs

    stored = Path("data", "crystallize.db").exists() and list_runs("data", experiment.name)
    assert not stored  # refused before the run was stored
    assert experiment.apply(data=[1, 2]) == [1, 2]  # apply() runs here: nothing is pickled


def test_unpicklable_context_value_names_key_and_resource_factory():
    import threading

    experiment = make(initial_ctx={"lock": threading.Lock()},
                      plugins=[ParallelExecution(max_workers=2, executor_type="process")])
    with pytest.raises(PicklingError, match=r"context key 'lock'.*resource_factory"):
        experiment.run()


@pytest.mark.filterwarnings("ignore:Treatment .locked. sets .guard.")
def test_unpicklable_treatment_value_names_its_context_key():
    import threading

    experiment = make(treatments=[treatment("locked", {"delta": 1, "guard": threading.Lock()})],
                      plugins=[ParallelExecution(max_workers=2, executor_type="process")])
    with pytest.raises(PicklingError, match=r"context key 'guard' of treatment 'locked' cannot be pickled"):
        experiment.run()


def test_unpicklable_treatment_function_is_named():
    experiment = make(treatments=[treatment("computed", lambda ctx: ctx.add("delta", 1))],
                      plugins=[ParallelExecution(max_workers=2, executor_type="process")])
    with pytest.raises(PicklingError, match=r"the values function of treatment 'computed' cannot be pickled"):
        experiment.run()


def test_strategy_is_checked():
    with pytest.raises(ExperimentValidationError, match="strategy"):
        make().run(strategy="sometimes")


def test_treatment_class_equality():
    assert Treatment("a", {"x": 1}) == treatment("a", {"x": 1})
