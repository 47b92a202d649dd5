"""optimize() with Optuna's GridSampler, and the error of a search whose every trial failed.

The metric is ``loss = 1 / depth``: the deeper, the better; a depth that is not a
positive number makes the step fail.
"""

from __future__ import annotations

import re

import pytest

from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step
from crystallize.exceptions import CrystallizeError
from crystallize.optimize import GridSearchOptimizer, optimize
from crystallize.plugins.artifacts import ArtifactPlugin
from crystallize.store import load_result


@data_source
def constant(ctx):
    return 0.0


@pipeline_step()
def fit(data, ctx, *, depth=2):
    return data, {"loss": 1.0 / depth + data}


def build(root_dir="data") -> Experiment:
    return Experiment(
        datasource=constant(),
        pipeline=Pipeline([fit()]),
        plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=root_dir)],
        name="trees",
    )


def grid_study(optuna, grid):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.GridSampler({"depth": grid}, seed=0)
    return optuna.create_study(direction="minimize", sampler=sampler)


def test_optuna_grid_sampler_finishes_its_grid():
    optuna = pytest.importorskip("optuna")
    from crystallize.optimize import OptunaOptimizer

    study = grid_study(optuna, [2, 4, 8])
    optimizer = OptunaOptimizer(study, {"depth": [2, 4, 8]}, metric="loss")
    found = optimize(build(), optimizer, num_trials=3, replicates_per_trial=2)
    assert found.best_values == {"depth": 8}
    assert found.best_value == pytest.approx(0.125)
    assert sorted(t.values["depth"] for t in found.trials) == [2, 4, 8]
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert sorted(t.value for t in study.trials) == pytest.approx([0.125, 0.25, 0.5])
    assert study.best_params == {"depth": 8}
    # The grid is done: a further search of this study proposes nothing and says why.
    again = OptunaOptimizer(study, {"depth": [2, 4, 8]}, metric="loss")
    with pytest.raises(CrystallizeError, match="proposed no trial: The study's GridSampler has ended"):
        optimize(build(), again, num_trials=1, replicates_per_trial=1)
    assert len(study.trials) == 3


def test_optuna_grid_sampler_stops_before_num_trials_and_with_failed_points():
    optuna = pytest.importorskip("optuna")
    from crystallize.optimize import OptunaOptimizer

    grid = [2, 4, 8, "shallow"]
    study = grid_study(optuna, grid)
    found = optimize(build(), OptunaOptimizer(study, {"depth": grid}, metric="loss"), 10, 1)
    assert len(found.trials) == len(study.trials) == 4
    assert sorted(map(str, (t.values["depth"] for t in found.trials))) == ["2", "4", "8", "shallow"]
    states = {t.params["depth"]: t.state for t in study.trials}
    assert states.pop("shallow") == optuna.trial.TrialState.FAIL
    assert set(states.values()) == {optuna.trial.TrialState.COMPLETE}
    assert found.best_values == {"depth": 8}


def test_optuna_any_sampler_stopping_the_study_ends_the_search():
    optuna = pytest.importorskip("optuna")
    from crystallize.optimize import OptunaOptimizer

    class StopAfterTwo(optuna.samplers.RandomSampler):
        def after_trial(self, study, trial, state, values):
            if trial.number == 1:
                study.stop()

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=StopAfterTwo(seed=0))
    found = optimize(build(), OptunaOptimizer(study, {"depth": [2, 4, 8]}, metric="loss"), 5, 1)
    assert len(found.trials) == len(study.trials) == 2
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2


def test_every_trial_failing_names_the_runs_and_the_first_error():
    failing = GridSearchOptimizer({"depth": ["a", None]})
    with pytest.raises(CrystallizeError) as caught:
        optimize(build(), failing, num_trials=None, replicates_per_trial=2, metric="loss", direction="minimize")
    message = str(caught.value)
    assert "all 2 trial(s) failed" in message
    assert "(the first with [trial_0 #0] step 'fit': TypeError: unsupported operand" in message
    run_ids = re.search(r"stored run \((\w+), (\w+)\)", message).groups()
    assert f"crystallize show trees --run {run_ids[0]} --tracebacks" in message
    assert "crystallize.store.load_result(run_id).errors" in message
    stored = load_result(run_ids[1])
    assert {e.condition for e in stored.errors} == {"trial_1"}


def test_every_trial_failing_lists_a_few_runs_and_the_store_root():
    failing = GridSearchOptimizer({"depth": [0, "a", "b", "c", "d"]})
    with pytest.raises(CrystallizeError) as caught:
        optimize(build("runs"), failing, None, 1, metric="loss", direction="minimize")
    message = str(caught.value)
    assert "ZeroDivisionError" in message
    first, *_ = re.search(r"stored run \((\w+), (\w+), (\w+) and 2 more\)", message).groups()
    assert f"crystallize show trees --run {first} --root runs --tracebacks" in message
    assert "load_result(run_id, 'runs').errors" in message
    assert [e.exception_type for e in load_result(first, "runs").errors] == ["ZeroDivisionError"]


def test_every_trial_failing_without_a_store():
    with pytest.raises(CrystallizeError, match=r"the first with .*ZeroDivisionError.*not stored"):
        optimize(build(None), GridSearchOptimizer({"depth": [0]}), 1, 1, "loss", "minimize")
