"""Mistakes made while building an experiment in Python are caught early and explained.

Each check runs at construction or in ``validate()`` (which ``run()`` calls first), so a
rejected experiment stores nothing.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from rich.console import Console

from crystallize import (
    Experiment,
    ExperimentValidationError,
    Hypothesis,
    Pipeline,
    PipelineStep,
    SeedPlugin,
    data_source,
    hypothesis,
    pipeline_step,
    treatment,
    verifier,
)
from crystallize.exceptions import MissingMetricError, StoreError
from crystallize.stats import welch_t_test
from crystallize.store import list_runs


@data_source
def numbers(ctx, n=4):
    import random

    return [random.random() for _ in range(n)]


@pipeline_step()
def shift(values, ctx, *, delta=0.0):
    return [v + delta for v in values]


@pipeline_step()
def summarize(values, ctx):
    return values, {"mean": sum(values) / len(values)}


@pipeline_step()
def record_delta(values, ctx, *, delta=0.0):
    return values, {"delta": delta}


@pipeline_step()
def explode(values, ctx):
    raise RuntimeError("broken step")


@hypothesis(verifier=welch_t_test(), metrics="mean")
def shifted(result):
    return result["p_value"]


def make(**kwargs):
    kwargs.setdefault("datasource", numbers())
    kwargs.setdefault("pipeline", Pipeline([shift(), summarize()]))
    kwargs.setdefault("plugins", [SeedPlugin(seed=1)])
    kwargs.setdefault("replicates", 2)
    kwargs.setdefault("name", "mistakes")
    return Experiment(**kwargs)


def stored_runs() -> list:
    """Every run in the working directory's store; none when no store was created."""
    try:
        return list_runs("data")
    except StoreError:
        return []


# -- engine keys -------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["replicate", "condition", "seed_used"])
def test_treatment_setting_an_engine_key_is_rejected_before_anything_is_stored(key):
    experiment = make(treatments=[treatment("t", {key: 12345, "delta": 0.5})])
    with pytest.raises(ExperimentValidationError, match=f"treatment 't' sets '{key}'"):
        experiment.run()
    assert stored_runs() == []


@pytest.mark.parametrize("key", ["replicate", "condition", "seed_used"])
def test_initial_ctx_setting_an_engine_key_is_rejected(key):
    with pytest.raises(ExperimentValidationError, match=f"initial_ctx sets '{key}'"):
        make(initial_ctx={key: 5}).validate()


def test_engine_key_message_says_what_to_use_instead():
    with pytest.raises(ExperimentValidationError, match=r"SeedPlugin\(seed=\.\.\.\)"):
        make(initial_ctx={"seed_used": 5}).validate()
    with pytest.raises(ExperimentValidationError, match="another key"):
        make(treatments=[treatment("t", {"replicate": 3})]).validate()


def test_engine_key_in_a_run_level_treatment_is_rejected():
    with pytest.raises(ExperimentValidationError, match="'seed_used'"):
        make().run(treatments=[treatment("t", {"seed_used": 7})])
    assert stored_runs() == []


def test_apply_seed_still_reaches_the_replicate():
    seen = []

    @pipeline_step()
    def peek(values, ctx):
        seen.append(ctx["seed_used"])
        return values

    make(pipeline=Pipeline([peek()])).apply(seed=99)
    assert seen == [99]


# -- things that are not steps -------------------------------------------------------------
def plain(values, ctx):
    return values


@pytest.mark.parametrize("bad", [lambda d, c: d, plain], ids=["lambda", "plain function"])
def test_pipeline_rejects_functions_that_are_not_steps(bad):
    with pytest.raises(TypeError, match=r"Decorate the function with @pipeline_step\(\) and call the factory"):
        Pipeline([bad])
    with pytest.raises(TypeError, match="Pipeline step 0"):
        make(pipeline=[bad, summarize()])
    assert stored_runs() == []


def test_pipeline_keeps_the_uncalled_factory_message_and_explains_classes():
    with pytest.raises(TypeError, match=r"Call it: shift\(\)"):
        Pipeline([shift])

    class Square(PipelineStep):
        def __call__(self, data, ctx):
            return data

    with pytest.raises(TypeError, match=r"Create an instance: Square\(\)"):
        Pipeline([Square])
    with pytest.raises(TypeError, match="list of steps"):
        Pipeline("shift")


def test_treatment_step_swaps_must_be_steps():
    with pytest.raises(TypeError, match=r"Treatment 't' replaces step 'shift'.*Call it: shift\(\)"):
        treatment("t", steps={"shift": shift})
    with pytest.raises(TypeError, match=r"@pipeline_step\(\)"):
        treatment("t", steps={"shift": lambda d, c: d})
    assert treatment("t", steps={"shift": shift(delta=1)}).steps["shift"].params == {"delta": 1}


def test_things_that_are_not_hypotheses_are_rejected_by_validate():
    def ranker(result):
        return result["p_value"]

    with pytest.raises(ExperimentValidationError, match=r"hypotheses\[0\].*@hypothesis\(verifier=\.\.\., metrics=\.\.\.\)"):
        make(hypotheses=[ranker]).validate()
    unapplied = hypothesis(verifier=welch_t_test(), metrics="mean")
    with pytest.raises(ExperimentValidationError, match="not yet applied to a ranker"):
        make(hypotheses=[unapplied]).validate()


def test_run_level_hypotheses_are_checked_before_anything_is_stored():
    with pytest.raises(ExperimentValidationError, match="'x', not a Hypothesis"):
        make().run(hypotheses="x")
    assert stored_runs() == []


# -- verifiers -----------------------------------------------------------------------------
@verifier
def always_half(baseline, treatment):
    return 0.5


def test_uncalled_verifier_factory_is_a_type_error_at_construction():
    with pytest.raises(TypeError, match=r"Call it: verifier=welch_t_test\(\)"):
        hypothesis(verifier=welch_t_test, metrics="mean")
    with pytest.raises(TypeError, match=r"Call it: verifier=always_half\(\)"):
        Hypothesis(verifier=always_half, metrics="mean")


def test_verifier_decorates_only_functions():
    with pytest.raises(TypeError, match="@verifier decorates a function"):
        verifier(5)


def test_verifier_returning_a_non_dict_is_explained_per_treatment():
    h = Hypothesis(verifier=always_half(), metrics="mean", name="half")
    none = Hypothesis(verifier=lambda b, t: None, metrics="mean", name="none")
    result = make(treatments=[treatment("t", {"delta": 1.0})], hypotheses=[h, none]).run()
    assert "Verifier 'always_half' must return a dict" in result.get_hypothesis("half").results["t"]["error"]
    assert "must return a dict" in result.get_hypothesis("none").results["t"]["error"]


# -- names ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["a/b", "../evil", "x\x00y", "  ", "", "a\\b", ".."])
def test_unusable_names_are_rejected_before_anything_is_stored(name):
    with pytest.raises(ExperimentValidationError, match="cannot be used: it becomes a directory"):
        make(name=name).validate()
    with pytest.raises(ExperimentValidationError):
        make(name=name).run()
    assert stored_runs() == []


def test_name_must_be_a_string():
    with pytest.raises(TypeError, match="name must be a string"):
        make(name=5)


# -- single items and container types ------------------------------------------------------
def test_single_items_are_accepted_where_lists_are_expected():
    experiment = make(
        plugins=SeedPlugin(seed=3),
        treatments=treatment("t", {"delta": 1.0}),
        hypotheses=shifted,
        pipeline=summarize(),
    )
    assert experiment.get_plugin(SeedPlugin).seed == 3
    assert [t.name for t in experiment.treatments] == ["t"]
    assert experiment.hypotheses == [shifted]
    assert [s.name for s in experiment.pipeline.steps] == ["summarize"]
    result = make().run(treatments=treatment("u", {"delta": 2.0}), hypotheses=shifted)
    assert list(result.metrics.treatments) == ["u"] and result.get_hypothesis("shifted") is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial_ctx": [1, 2]}, "initial_ctx must be a mapping"),
        ({"initial_ctx": "abc"}, "initial_ctx must be a mapping"),
        ({"plugins": {"seed": SeedPlugin()}}, "plugins must be a list"),
    ],
)
def test_wrong_container_types_are_type_errors(kwargs, message):
    with pytest.raises(TypeError, match=message):
        make(**kwargs)


def test_hypothesis_metrics_must_be_names():
    with pytest.raises(TypeError, match="metrics must be a metric name or a list of names"):
        hypothesis(verifier=welch_t_test(), metrics=None)
    with pytest.raises(TypeError, match="metric names must be strings"):
        Hypothesis(verifier=welch_t_test(), metrics=["mean", 3])


def test_builder_takes_one_step_and_checks_initial_ctx():
    built = Experiment.builder("b").datasource(numbers()).pipeline(summarize()).build()
    assert [s.name for s in built.pipeline.steps] == ["summarize"]
    with pytest.raises(TypeError, match=r"initial_ctx\(\) takes a mapping"):
        Experiment.builder().initial_ctx([1, 2])


# -- replicates and apply ------------------------------------------------------------------
def test_integral_replicates_are_accepted_and_stored_as_int():
    experiment = make(replicates=np.int64(3))
    assert experiment.replicates == 3 and type(experiment.replicates) is int
    assert len(experiment.run().metrics.baseline.metrics["mean"]) == 3
    assert len(make().run(replicates=np.int64(4)).metrics.baseline.metrics["mean"]) == 4
    with pytest.raises(ExperimentValidationError, match="replicates must be a positive int"):
        make(replicates=True).validate()


def test_more_replicates_than_a_run_can_hold_are_refused_up_front(tmp_path, monkeypatch):
    # 2**64 failed midway in the store (OverflowError); 2**63 - 1 filled the memory listing them.
    from crystallize.experiment import MAX_REPLICATES

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExperimentValidationError, match="replicates must be at most 100,000,000"):
        make(replicates=2**64).validate()
    experiment = make()
    with pytest.raises(ExperimentValidationError, match=f"got {2**63 - 1:,}"):
        experiment.run(replicates=2**63 - 1)
    assert experiment.replicates == 2 and not (tmp_path / "data").exists()  # nothing ran or was stored
    make(replicates=MAX_REPLICATES).validate()  # the largest allowed


def test_apply_and_debug_baseline_by_name_is_the_baseline():
    experiment = make(treatments=[treatment("t", {"delta": 10.0})])
    assert experiment.apply(treatment="baseline") == experiment.apply()
    assert experiment.apply(treatment="baseline") != experiment.apply(treatment="t")
    quiet = Console(file=io.StringIO())
    assert experiment.debug(treatment="baseline", console=quiet) == experiment.debug(console=quiet)


# -- hypotheses when every replicate failed --------------------------------------------------
def test_missing_metric_after_every_replicate_failed_does_not_blame_the_name():
    experiment = make(pipeline=Pipeline([explode()]), treatments=[treatment("t", {"delta": 1.0})],
                      hypotheses=[shifted])
    result = experiment.run()
    verdict = result.get_hypothesis("shifted")
    error = verdict.error
    assert "result.errors" in error and "fix the name" not in error
    # every treatment is still listed, unranked, with the error as its entry
    assert verdict.ranking == ["t"] and verdict.results == {"t": {"error": error}}
    assert verdict.best is None and verdict.scores == {}
    with pytest.raises(MissingMetricError, match="fix the name"):
        shifted.verify({"other": [1.0]}, {"t": {"other": [2.0]}})


def test_metric_missing_after_partial_recording_and_failures_counts_the_failures():
    # Each replicate records 'delta' and then fails: a metric exists, but not 'mean'.
    experiment = make(pipeline=Pipeline([record_delta(), explode()]), treatments=[treatment("t", {"delta": 1.0})],
                      hypotheses=[shifted], replicates=2)
    error = experiment.run().get_hypothesis("shifted").error
    assert "4 of 4 replicate record(s) failed, which may be why: see result.errors" in error


def test_condition_without_any_metric_points_at_its_failures():
    verdict = shifted.verify({"mean": [1.0, 2.0]}, {"t": {}})
    assert "recorded no metrics at all" in verdict.results["t"]["error"]


# -- treatment values hidden by fixed step parameters ------------------------------------------
def test_treatment_value_shadowed_by_a_fixed_parameter_warns_at_the_callers_line():
    experiment = make(pipeline=Pipeline([record_delta(delta=7)]), treatments=[treatment("t", {"delta": 100})])
    with pytest.warns(UserWarning, match=r"Treatment 't' sets 'delta' to 100, but step 'record_delta' was built with delta=7") as caught:
        experiment.validate()
    assert caught[0].filename == __file__
    with pytest.warns(UserWarning, match="fixed parameter wins") as caught:
        result = experiment.run()
    assert caught[0].filename == __file__
    assert result.metrics.treatments["t"].metrics["delta"] == [7, 7]


def test_no_warning_when_another_step_reads_the_value_or_nothing_is_fixed():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make(pipeline=Pipeline([record_delta(delta=7), shift()]),
             treatments=[treatment("t", {"delta": 100})]).validate()
        make(pipeline=Pipeline([record_delta()]), treatments=[treatment("t", {"delta": 100})]).validate()


def test_builder_without_steps_says_how_to_add_them():
    with pytest.raises(ExperimentValidationError) as info:
        Experiment.builder("empty").datasource(numbers()).build()
    assert str(info.value) == (
        "Experiment 'empty' is not valid: no pipeline (pass pipeline=Pipeline([...]) "
        "or use .add_step(...))"
    )
    with pytest.raises(ExperimentValidationError, match=r"no datasource .*; no pipeline .*\.add_step"):
        Experiment.builder().build()


def test_plugins_changed_after_construction_must_stay_one_per_kind():
    from crystallize import SeedPlugin

    experiment = make()
    experiment.plugins.append(SeedPlugin(seed=99))
    with pytest.raises(ExperimentValidationError, match=r"exactly one SeedPlugin, but holds 2 \(SeedPlugin, SeedPlugin\)"):
        experiment.run()
    experiment = make()
    experiment.plugins = [SeedPlugin(seed=2)]
    with pytest.raises(ExperimentValidationError, match="exactly one execution plugin, but holds 0"):
        experiment.run()
    experiment = make()
    experiment.plugins = [p for p in experiment.plugins if not isinstance(p, SeedPlugin)] + [SeedPlugin(seed=2)]
    assert experiment.run().provenance["baseline"][0]["seed_used"] == 2  # a replacement works
