"""optimize() with grid, random and Optuna search on an experiment with a known optimum.

The metric is ``-(x - 3)^2 + noise``: the best x is 3, where the mean is about 0.
"""

from __future__ import annotations

import math
import random

import pytest

from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step
from crystallize.exceptions import CrystallizeError, MissingMetricError
from crystallize.optimize import (
    BaseOptimizer,
    GridSearchOptimizer,
    OptimizationResult,
    RandomSearchOptimizer,
    SearchExhausted,
    Trial,
    optimize,
)
from crystallize.store import load_result


@data_source
def noise(ctx):
    return random.gauss(0.0, 0.05)


@pipeline_step()
def parabola(data, ctx, *, x=0.0, mode="a"):  # mode: a second dimension that changes nothing
    if x == 5:
        raise RuntimeError("x=5 crashes the simulator")
    return data, {"score": -((x - 3.0) ** 2) + data, "distance": (x - 3.0) ** 2}


@pipeline_step()
def score_only(data, ctx, *, x=0.0):
    return data, {"score": -((x - 3.0) ** 2) + data}


def build(step=None) -> Experiment:
    return Experiment(
        datasource=noise(),
        pipeline=Pipeline([step or parabola()]),
        initial_ctx={"x": 0.0},
        plugins=[SeedPlugin(seed=1)],
        name="parabola",
    )


def test_grid_search_finds_the_known_optimum_and_stores_every_trial():
    found = optimize(
        build(), GridSearchOptimizer({"x": [0.0, 1.0, 2.0, 3.0, 4.0]}), num_trials=5,
        replicates_per_trial=3, metric="score", direction="maximize",
    )
    assert isinstance(found, OptimizationResult)
    assert found.best_values == {"x": 3.0}
    assert found.best_treatment.name == "trial_3"
    assert found.best_value == pytest.approx(0.0, abs=0.15)
    assert [t.values["x"] for t in found.trials] == [0.0, 1.0, 2.0, 3.0, 4.0]
    objectives = [t.objective for t in found.trials]
    assert objectives[:4] == sorted(objectives[:4]) and objectives[4] < objectives[3]
    assert found.trials[0].objective == pytest.approx(-9.0, abs=0.15)
    values, objective, run_id = found.trials[3]
    stored = load_result(run_id)
    assert stored.metrics.treatments["trial_3"].metrics["score"] == pytest.approx(
        [objective] * 3, abs=0.2
    )
    assert len(stored.metrics.treatments["trial_3"].metrics["score"]) == 3
    assert found.to_dataframe()["objective"].tolist() == [t.objective for t in found.trials]


def test_best_treatment_runs_as_a_normal_treatment():
    experiment = build()
    found = optimize(experiment, GridSearchOptimizer({"x": [2.0, 3.0]}), 2, 2, "score", "maximize")
    result = experiment.run(treatments=[found.best_treatment], replicates=2)
    assert max(result.metrics.treatments[found.best_treatment.name].metrics["score"]) > -0.3


def test_grid_stops_when_exhausted():
    grid = GridSearchOptimizer({"x": [1.0, 3.0], "mode": ["a", "b"]}, metric="score", direction="maximize")
    assert grid.size == 4
    found = optimize(build(), grid, num_trials=None, replicates_per_trial=1)
    assert len(found.trials) == 4
    assert found.best_values["x"] == 3.0
    with pytest.raises(SearchExhausted):
        grid.ask()
    more = optimize(build(), GridSearchOptimizer({"x": [1.0, 2.0]}), 10, 1, "score", "maximize")
    assert len(more.trials) == 2


def test_random_search_is_reproducible_and_gets_close():
    def run():
        return optimize(
            build(), RandomSearchOptimizer({"x": (0.0, 6.0)}, seed=7), num_trials=25,
            replicates_per_trial=2, metric="score", direction="maximize",
        )

    first, second = run(), run()
    assert [t.values for t in first.trials] == [t.values for t in second.trials]
    assert all(0.0 <= t.values["x"] <= 6.0 for t in first.trials)
    assert abs(first.best_values["x"] - 3.0) < 0.5
    assert first.best_value == max(t.objective for t in first.trials)


def test_minimize_direction_from_the_optimizer():
    optimizer = RandomSearchOptimizer({"x": [1.0, 2.5, 4.0]}, seed=0, metric="distance", direction="minimize")
    found = optimize(build(), optimizer, num_trials=8, replicates_per_trial=1)
    assert found.best_values == {"x": 2.5}
    assert found.best_value == pytest.approx(0.25)
    assert optimizer.best() == {"x": 2.5}
    assert found.direction == "minimize" and found.metric == "distance"


def test_failed_trial_gets_nan_and_never_wins():
    found = optimize(build(), GridSearchOptimizer({"x": [5.0, 4.0]}), 2, 2, "score", "maximize")
    assert math.isnan(found.trials[0].objective)
    assert found.best_values == {"x": 4.0}


def test_every_trial_failing_is_an_error():
    with pytest.raises(CrystallizeError, match="No trial produced a value of score"):
        optimize(build(), GridSearchOptimizer({"x": [5.0]}), 1, 1, "score", "maximize")


def test_unknown_metric_names_the_recorded_ones():
    with pytest.raises(MissingMetricError, match=r"'acuracy'.*recorded: score, distance"):
        optimize(build(), GridSearchOptimizer({"x": [1.0]}), 1, 1, "acuracy", "maximize")


def test_metric_is_inferred_only_when_unambiguous():
    found = optimize(build(score_only()), GridSearchOptimizer({"x": [3.0, 1.0]}), 2, 1, direction="maximize")
    assert found.metric == "score" and found.best_values == {"x": 3.0}
    with pytest.raises(ValueError, match="records: score, distance"):
        optimize(build(), GridSearchOptimizer({"x": [1.0]}), 1, 1, direction="maximize")


def test_direction_must_be_known_and_consistent():
    with pytest.raises(ValueError, match="needs a direction"):
        optimize(build(), GridSearchOptimizer({"x": [1.0]}), 1, 1, "score")
    optimizer = GridSearchOptimizer({"x": [1.0]}, direction="minimize")
    with pytest.raises(ValueError, match="contradicts"):
        optimize(build(), optimizer, 1, 1, "score", "maximize")
    with pytest.raises(ValueError, match="direction must be"):
        GridSearchOptimizer({"x": [1.0]}, direction="up")
    with pytest.raises(ValueError, match="num_trials"):
        optimize(build(), GridSearchOptimizer({"x": [1.0]}), 0, 1, "score", "maximize")
    with pytest.raises(ValueError, match="never is"):
        optimize(build(), RandomSearchOptimizer({"x": (0.0, 1.0)}), None, 1, "score", "maximize")


def test_search_space_errors_are_clear():
    with pytest.raises(ValueError, match="grid search needs a list"):
        GridSearchOptimizer({"x": (0.0, 1.0)})
    with pytest.raises(ValueError, match="low < high"):
        RandomSearchOptimizer({"x": (2.0, 1.0)})
    with pytest.raises(ValueError, match="no choices"):
        RandomSearchOptimizer({"x": []})
    experiment = Experiment(datasource=noise(), pipeline=Pipeline([parabola()]))
    with pytest.raises(TypeError, match=r"needs an optimizer, got dict .*GridSearchOptimizer\(\{\.\.\.\}\)"):
        optimize(experiment, {"x": [1.0]}, num_trials=1, replicates_per_trial=1, metric="y", direction="maximize")


def test_custom_optimizer_through_the_base_class():
    class Fixed(BaseOptimizer):
        def __init__(self):
            super().__init__(metric="score", direction="maximize")
            self.queue = [{"x": 2.0}, {"x": 3.5}]

        def ask(self):
            if not self.queue:
                raise SearchExhausted("done")
            return self.queue.pop(0)

    optimizer = Fixed()
    found = optimize(build(), optimizer, 5, 1)
    assert found.best_values == {"x": 3.5}
    assert [t.values for t in optimizer.history] == [{"x": 2.0}, {"x": 3.5}]
    assert isinstance(optimizer.history[0], Trial) and optimizer.history[0].run_id is None


def test_optuna_sampler_drives_the_search():
    optuna = pytest.importorskip("optuna")
    from crystallize.optimize import OptunaOptimizer

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=3))
    optimizer = OptunaOptimizer(study, search_space={"x": (0.0, 6.0), "mode": ["a", "b"]}, metric="score")
    found = optimize(build(), optimizer, num_trials=20, replicates_per_trial=2)
    assert found.direction == "maximize"
    assert len(study.trials) == 20
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert study.best_value == pytest.approx(found.best_value)
    assert study.best_params == found.best_values
    assert abs(found.best_values["x"] - 3.0) < 0.5
    with pytest.raises(ValueError, match="did not propose"):
        optimizer.tell({"x": 1.0, "mode": "a"}, 0.0)


def test_optuna_failed_trials_and_direction_conflicts():
    optuna = pytest.importorskip("optuna")
    from crystallize.optimize import OptunaOptimizer

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.RandomSampler(seed=0))
    optimizer = OptunaOptimizer(study, search_space={"x": [5.0, 3.0]}, metric="distance")
    with pytest.raises(ValueError, match="contradicts"):
        optimize(build(), optimizer, 1, 1, direction="maximize")
    found = optimize(build(), optimizer, num_trials=6, replicates_per_trial=1)
    states = {(t.params["x"], t.state) for t in study.trials}
    assert states == {(5.0, optuna.trial.TrialState.FAIL), (3.0, optuna.trial.TrialState.COMPLETE)}
    assert sum(math.isnan(t.objective) for t in found.trials) == sum(
        t.state == optuna.trial.TrialState.FAIL for t in study.trials
    )
    assert found.best_values == {"x": 3.0}
    with pytest.raises(ValueError, match="single-objective"):
        OptunaOptimizer(optuna.create_study(directions=["minimize", "maximize"]), {"x": [1]})


def test_optuna_optimizer_needs_a_study():
    pytest.importorskip("optuna")
    from crystallize.optimize import OptunaOptimizer

    with pytest.raises(TypeError, match="needs an optuna Study"):
        OptunaOptimizer("my-study", {"x": (0.0, 1.0)})


class _Recording(BaseOptimizer):
    """Proposes the given values in turn and remembers what it was told or abandoned."""

    def __init__(self, proposals, **kw):
        super().__init__(**kw)
        self.proposals = list(proposals)
        self.abandoned = []

    def ask(self):
        return dict(self.proposals.pop(0))

    def abandon(self, values):
        self.abandoned.append(values)


def test_a_trial_that_raises_is_abandoned_not_left_open():
    from crystallize.exceptions import ExperimentValidationError

    misspelt = _Recording([{"xx": 1.0}], metric="score", direction="maximize")
    with pytest.raises(ExperimentValidationError):
        optimize(build(), misspelt, num_trials=1, replicates_per_trial=1)
    assert misspelt.abandoned == [{"xx": 1.0}] and misspelt.history == []
    no_metric = _Recording([{"x": 1.0}], metric="acc", direction="maximize")
    with pytest.raises(MissingMetricError):
        optimize(build(), no_metric, num_trials=1, replicates_per_trial=1)
    assert no_metric.abandoned == [{"x": 1.0}]


def test_optuna_trials_that_raise_are_failed_in_the_study():
    # They stayed RUNNING for ever in a stored study (the dashboard, samplers that
    # account for running trials).
    optuna = pytest.importorskip("optuna")
    from crystallize.exceptions import ExperimentValidationError
    from crystallize.optimize import OptunaOptimizer

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    with pytest.raises(ExperimentValidationError):
        optimize(build(), OptunaOptimizer(study, {"xx": (0.0, 1.0)}, metric="score"), 1, 1)
    with pytest.raises(MissingMetricError):
        optimize(build(), OptunaOptimizer(study, {"x": (0.0, 1.0)}, metric="acc"), 1, 1)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL] * 2


def test_optuna_range_the_wrong_way_round_names_its_key():
    pytest.importorskip("optuna")
    import optuna

    from crystallize.optimize import OptunaOptimizer

    with pytest.raises(ValueError, match=r"search_space entry 'lr': the range \(1\.0, 0\.1\) needs low <= high"):
        OptunaOptimizer(optuna.create_study(), {"lr": (1.0, 0.1)})
