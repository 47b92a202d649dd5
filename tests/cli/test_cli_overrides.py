"""``--set`` parsing and the per-run settings applied to an experiment (in process)."""

from __future__ import annotations

import pytest

from crystallize import (
    Experiment,
    ParallelExecution,
    SeedPlugin,
    SerialExecution,
    data_source,
    pipeline_step,
)
from crystallize.cli.errors import UserError
from crystallize.cli.overrides import (
    RunSettings,
    apply_settings,
    execution_plugin,
    parse_assignment,
    parse_assignments,
    parse_value,
    select_treatments,
)
from crystallize.treatment import Treatment


@data_source
def source(ctx):
    return 1


@pipeline_step(cacheable=True)
def bump(data, *, delta=0):
    return data + delta


def _experiment() -> Experiment:
    return Experiment(
        datasource=source(),
        pipeline=[bump()],
        plugins=[SeedPlugin(seed=3, auto_seed=False)],
        initial_ctx={"delta": 0},
        treatments=[Treatment("up", {"delta": 1}), Treatment("down", {"delta": -1})],
        replicates=2,
        name="exp",
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [("3", 3), ("0.5", 0.5), ("true", True), ("null", None), ("abc", "abc"), ("'007'", "007"), ("[1, 2]", [1, 2])],
)
def test_values_parse_as_yaml_scalars(text, value):
    assert parse_value(text) == value


@pytest.mark.parametrize("bad", ["delta", "=3", "a..b=1", " =1"])
def test_malformed_assignments_are_user_errors(bad):
    with pytest.raises(UserError):
        parse_assignment(bad)


def test_assignment_keeps_equals_signs_in_the_value():
    assert parse_assignment("label=a=b").value == "a=b"


def test_settings_change_the_experiment_for_the_run():
    experiment = _experiment()
    settings = RunSettings(
        assignments=parse_assignments(["treatments.up.delta=10", "delta=5", "replicates=4", "auto_seed=true"]),
        seed=9,
        no_cache=True,
    )
    apply_settings([experiment], settings)
    assert experiment.replicates == 4
    assert experiment.initial_ctx["delta"] == 5
    assert {t.name: t.values for t in experiment.treatments} == {"up": {"delta": 10}, "down": {"delta": -1}}
    seed = experiment.get_plugin(SeedPlugin)
    assert (seed.seed, seed.auto_seed) == (9, True)
    assert len(experiment.plugins) == 4
    assert experiment.pipeline.steps[0].cacheable is False
    result = experiment.run()
    assert result.metrics.treatments["up"].metrics == {}  # no metrics recorded, but it ran
    assert result.errors == []


def test_replicates_option_wins_over_set():
    experiment = _experiment()
    apply_settings([experiment], RunSettings(parse_assignments(["replicates=4"]), replicates=6))
    assert experiment.replicates == 6


def test_unknown_context_key_warns(capsys):
    apply_settings([_experiment()], RunSettings(parse_assignments(["detla=1"])))
    assert "did you mean 'delta'" in capsys.readouterr().err.lower()


def test_a_misspelt_run_setting_suggests_the_setting(capsys):
    apply_settings([_experiment()], RunSettings(parse_assignments(["replicats=5"])))
    assert "did you mean 'replicates'" in capsys.readouterr().err.lower()


def test_executor_settings_build_the_right_plugin():
    experiment = _experiment()
    assert execution_plugin(experiment) is None
    plugin = execution_plugin(experiment, workers=3)
    assert isinstance(plugin, ParallelExecution)
    assert (plugin.executor_type, plugin.max_workers) == ("process", 3)
    assert isinstance(execution_plugin(experiment, "serial"), SerialExecution)
    ray = execution_plugin(experiment, address="ray://head:10001")
    assert type(ray).__name__ == "RayExecution" and ray.address == "ray://head:10001"
    with pytest.raises(UserError, match="Ray executor only"):
        execution_plugin(experiment, "thread", address="x")
    with pytest.raises(UserError, match="unknown executor"):
        execution_plugin(experiment, "proces")


def test_threads_keep_their_type_when_only_workers_change():
    experiment = _experiment()
    apply_settings([experiment], RunSettings(executor="thread"))
    apply_settings([experiment], RunSettings(workers=2))
    plugin = experiment.execution_plugin
    assert (plugin.executor_type, plugin.max_workers) == ("thread", 2)


def test_treatment_selection():
    experiment = _experiment()
    assert select_treatments(experiment, []) is None
    assert [t.name for t in select_treatments(experiment, ["down,baseline", "up"])] == ["down", "up"]
    with pytest.raises(UserError, match="Did you mean 'up'"):
        select_treatments(experiment, ["upp"])


def test_code_treatments_cannot_be_set():
    experiment = _experiment()
    experiment.treatments.append(Treatment("fn", lambda ctx: None))
    with pytest.raises(UserError, match="computes its values in code"):
        apply_settings([experiment], RunSettings(parse_assignments(["treatments.fn.delta=1"])))
