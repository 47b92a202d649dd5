"""A treatment's values as changed after it was built are the ones that run, the ones the
stored config records and the ones its repr shows (audit: they used to be cached at
construction, so a change was recorded but never applied)."""

from __future__ import annotations

import copy

import pytest

from crystallize import (
    Experiment,
    Pipeline,
    SeedPlugin,
    Treatment,
    data_source,
    pipeline_step,
    treatment,
)


@data_source
def numbers(ctx):
    return [1, 2, 3]


@pipeline_step()
def add(data, ctx, *, delta=0):
    return [x + delta for x in data]


@pipeline_step()
def total(data, ctx):
    return data, {"total": sum(data)}


def _experiment() -> Experiment:
    return Experiment(
        datasource=numbers(),
        pipeline=Pipeline([add(), total()]),
        plugins=[SeedPlugin(seed=1)],
        treatments=[treatment("plus10", {"delta": 10})],
        replicates=2,
        name="live_values",
    )


def _plus10(result):
    return result.metrics.treatments["plus10"].metrics["total"]


def test_values_changed_in_place_on_a_deep_copy_run_and_are_recorded():
    original = _experiment()
    variant = copy.deepcopy(original)
    variant.treatments[0].values["delta"] = 1000

    result = variant.run()

    assert _plus10(result) == [3006, 3006]
    assert result.info["config"]["treatments"][0]["values"] == {"delta": 1000}
    assert result.provenance["plus10"][0]["steps"][0]["ctx_reads"] == {"delta": 1000}
    assert repr(variant.treatments[0]) == "Treatment('plus10', {'delta': 1000})"
    assert original.treatments[0].values == {"delta": 10}  # the copy is independent
    assert _plus10(original.run()) == [36, 36]


def test_values_replaced_by_assignment_run():
    experiment = _experiment()
    experiment.treatments[0].values = {"delta": 500}
    assert _plus10(experiment.run()) == [1506, 1506]


def test_a_function_replacing_values_runs_and_a_mapping_replacing_a_function_is_not_called():
    experiment = _experiment()
    chosen = experiment.treatments[0]
    chosen.values = lambda ctx: ctx.add("delta", 2)
    assert chosen.computes_values
    assert _plus10(experiment.run()) == [12, 12]

    chosen.values = {"delta": 3}
    assert not chosen.computes_values
    assert _plus10(experiment.run()) == [15, 15]


def test_values_assigned_as_another_mapping_are_kept_as_a_dict():
    from types import MappingProxyType

    chosen = Treatment("t", {"delta": 1})
    chosen.values = MappingProxyType({"delta": 4})
    assert type(chosen.values) is dict and chosen.values == {"delta": 4}


def test_values_assigned_something_else_are_refused_with_what_to_give():
    chosen = Treatment("t", {"delta": 1})
    with pytest.raises(TypeError, match=r"Treatment 't' values must be a mapping or a callable fn\(ctx\), got int"):
        chosen.values = 5
    assert chosen.values == {"delta": 1}


def test_apply_uses_the_current_values():
    from crystallize.utils.context import FrozenContext

    chosen = Treatment("t", {"delta": 1})
    chosen.values["delta"] = 7
    ctx = FrozenContext({})
    chosen.apply(ctx)
    assert ctx["delta"] == 7


@pytest.mark.filterwarnings("ignore:SeedPlugin is combined:RuntimeWarning")
def test_values_changed_before_a_thread_run_reach_the_threads():
    from crystallize import ParallelExecution

    experiment = _experiment()
    experiment.plugins = [
        ParallelExecution(max_workers=2, executor_type="thread") if type(p).__name__ == "SerialExecution" else p
        for p in experiment.plugins
    ]
    experiment.treatments[0].values["delta"] = 100
    assert _plus10(experiment.run()) == [306, 306]


def test_a_treatment_name_cannot_change_after_it_is_built():
    chosen = Treatment("t", {"delta": 1})
    members = {chosen}
    with pytest.raises(AttributeError, match="cannot be changed.*Treatment\\('new'"):
        chosen.name = "new"
    assert chosen.name == "t" and chosen in members
