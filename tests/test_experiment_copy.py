"""copy.copy, copy.deepcopy and pickle keep a whole Experiment (hypotheses and every
plugin); only what the engine ships to worker processes leaves out driver-only parts
(audit: copies silently lost their hypotheses and driver-only plugins)."""

from __future__ import annotations

import copy
import pickle
import threading

import pytest

from crystallize import (
    BasePlugin,
    Experiment,
    Hypothesis,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    data_source,
    hypothesis,
    pipeline_step,
    treatment,
    verifier,
)
from crystallize.exceptions import PicklingError
from crystallize.replicate import ReplicateRunner, baseline_condition


@data_source
def numbers(ctx):
    return [1, 2, 3]


@pipeline_step()
def add(data, ctx, *, delta=0):
    return [x + delta for x in data]


@pipeline_step()
def total(data, ctx):
    return data, {"total": sum(data)}


@verifier
def gain(baseline, treatment):
    return {"gain": treatment["total"][0] - baseline["total"][0], "p_value": 0.01}


@hypothesis(verifier=gain(), metrics="total", name="h_total")
def rank(result):
    return result["p_value"]


class Counter(BasePlugin):
    """A driver-only plugin (no worker hooks) that keeps state."""

    def __init__(self):
        self.runs = 0

    def after_run(self, experiment, result):
        self.runs += 1


class Locked(BasePlugin):
    """A driver-only plugin that cannot be pickled (it holds a lock)."""

    def __init__(self):
        self.lock = threading.Lock()

    def after_run(self, experiment, result):
        pass


def _experiment(*plugins, **kwargs) -> Experiment:
    return Experiment(
        datasource=numbers(),
        pipeline=Pipeline([add(), total()]),
        plugins=[SeedPlugin(seed=1), *plugins],
        treatments=[treatment("plus10", {"delta": 10})],
        hypotheses=[rank],
        replicates=2,
        name="copies",
        **kwargs,
    )


def _plugin_names(experiment):
    return [type(p).__name__ for p in experiment.plugins]


def test_a_deep_copy_keeps_hypotheses_and_plugins_and_runs_independently():
    original = _experiment(Counter())
    clone = copy.deepcopy(original)

    assert _plugin_names(clone) == _plugin_names(original)
    assert [h.name for h in clone.hypotheses] == ["h_total"]
    result = clone.run()
    assert result.get_hypothesis("h_total").results["plus10"]["gain"] == 30
    assert [h["name"] for h in result.info["config"]["hypotheses"]] == ["h_total"]
    assert clone.get_plugin(Counter).runs == 1
    assert original.get_plugin(Counter).runs == 0  # the original's plugin was not touched
    assert clone.hypotheses[0] is not original.hypotheses[0]


def test_a_shallow_copy_keeps_hypotheses_and_plugins():
    original = _experiment(Counter())
    clone = copy.copy(original)
    assert _plugin_names(clone) == _plugin_names(original)
    assert clone.hypotheses == original.hypotheses and len(clone.hypotheses) == 1


def test_a_pickled_experiment_keeps_hypotheses_and_plugins():
    original = _experiment(Counter())
    clone = pickle.loads(pickle.dumps(original))
    assert _plugin_names(clone) == _plugin_names(original)
    assert [h.name for h in clone.hypotheses] == ["h_total"]
    assert clone.hypotheses[0].ranker is rank.ranker
    assert clone.run().get_hypothesis("h_total").results["plus10"]["gain"] == 30


def test_an_experiment_with_an_unpicklable_plugin_names_it_when_pickled():
    with pytest.raises(PicklingError, match="plugin Locked") as raised:
        pickle.dumps(_experiment(Locked()))
    assert "cannot be pickled" in str(raised.value)
    assert isinstance(raised.value, pickle.PicklingError)


def test_an_experiment_with_an_unpicklable_plugin_still_copies():
    original = _experiment(Locked())
    assert _plugin_names(copy.copy(original)) == _plugin_names(original)


def test_the_runner_shipped_to_workers_leaves_out_driver_only_parts():
    experiment = _experiment(Locked())
    runner = ReplicateRunner(experiment, [baseline_condition()], [0])
    shipped = pickle.loads(pickle.dumps(runner))
    assert shipped.experiment.hypotheses == []
    assert "Locked" not in _plugin_names(shipped.experiment)
    assert "Locked" in _plugin_names(runner.experiment)  # the driver's is whole
    assert len(runner.experiment.hypotheses) == 1
    copied = runner.with_event_sink(None)  # a copy in the driver (thread execution)
    assert copied.experiment is experiment


def test_a_process_run_with_hypotheses_and_a_driver_only_plugin_verifies_them():
    experiment = _experiment(Locked(), ParallelExecution(max_workers=2, executor_type="process"))
    result = experiment.run()
    assert result.errors == []
    assert result.get_hypothesis("h_total").results["plus10"]["gain"] == 30


# -- pickling hypotheses ----------------------------------------------------------------
def test_a_decorated_hypothesis_pickles_by_reference_keeping_its_settings():
    clone = pickle.loads(pickle.dumps(rank))
    assert isinstance(clone, Hypothesis)
    assert clone.ranker is rank.ranker and clone.name == "h_total" and clone.metrics == ["total"]
    assert repr(clone.verifier) == "gain()"

    changed = copy.deepcopy(rank)
    changed.correction = "holm"
    assert pickle.loads(pickle.dumps(changed)).correction == "holm"
    assert rank.correction is None


def test_a_hypothesis_with_the_default_ranker_pickles():
    plain = Hypothesis(verifier=gain(), metrics="total", name="plain")
    clone = pickle.loads(pickle.dumps(plain))
    assert clone.ranker is plain.ranker and clone.name == "plain"


def test_a_hypothesis_whose_ranker_cannot_be_found_says_what_to_do():
    lambda_ranked = Hypothesis(verifier=gain(), metrics="total", ranker=lambda r: r["p_value"])
    with pytest.raises(pickle.PicklingError, match="lambda.*module scope"):
        pickle.dumps(lambda_ranked)


def test_steps_and_datasources_defined_in_a_function_copy_and_deep_copy():
    """They pickle by reference (worker processes find them by name), but a copy needs no
    name: copying one defined inside a function works, and so does its experiment."""
    import copy

    from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step

    def build():
        @data_source
        def source(ctx, start=1):
            return start

        @pipeline_step()
        def double(data, ctx, factor=2):
            return data * factor, {"m": data * factor}

        return source(start=3), double(factor=5)

    source, step = build()
    for clone in (copy.copy(step), copy.deepcopy(step)):
        assert clone is not step and clone.fn is step.fn and clone.params == {"factor": 5}
    deep = copy.deepcopy(step)
    deep.params["factor"] = 7
    assert step.params == {"factor": 5}  # a deep copy has its own parameters
    assert copy.deepcopy(source).fetch(None) == 3

    experiment = Experiment(
        datasource=source, pipeline=Pipeline([step]), replicates=2, plugins=[ArtifactPlugin(root_dir=None)]
    )
    result = copy.deepcopy(experiment).run()
    assert result.metrics.baseline.metrics["m"] == [15, 15]
