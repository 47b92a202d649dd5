"""Search-space ranges every optimizer can sample, and an OptunaOptimizer.ask() that fails.

* A range with an infinite or NaN bound, or whose width ``high - low`` overflows a float,
  is refused when the optimizer is made (random search proposed ``inf`` every trial;
  Optuna failed mid-search with a bare ``OverflowError``).
* When sampling a proposal fails inside ``OptunaOptimizer.ask()`` (a stored study resumed
  with a changed search space), the trial ``study.ask()`` opened is marked FAIL instead of
  staying RUNNING for ever, and the error names the key and the cause.
"""

from __future__ import annotations

import math
import re
import warnings

import pytest

from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step
from crystallize.optimize import GridSearchOptimizer, RandomSearchOptimizer, optimize
from crystallize.plugins.artifacts import ArtifactPlugin

INF = math.inf
NAN = math.nan


@data_source
def constant(ctx):
    return 0.0


@pipeline_step()
def train(data, ctx, *, depth=2, lr=0.01):
    return data, {"accuracy": -abs(depth - 4) - abs(lr - 0.01)}


def build(tmp_path) -> Experiment:
    return Experiment(
        datasource=constant(),
        pipeline=Pipeline([train()]),
        plugins=[SeedPlugin(seed=0), ArtifactPlugin(root_dir=str(tmp_path / "data"))],
        name="bounds",
    )


@pytest.fixture
def optuna():
    module = pytest.importorskip("optuna")
    module.logging.set_verbosity(module.logging.WARNING)
    return module


def stored_study(optuna, tmp_path, sampler=None):
    return optuna.create_study(
        direction="maximize",
        storage=f"sqlite:///{tmp_path / 'study.db'}",
        study_name="s",
        load_if_exists=True,
        sampler=sampler or optuna.samplers.RandomSampler(seed=0),
    )


def states(optuna, tmp_path) -> list[str]:
    loaded = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'study.db'}")
    return [t.state.name for t in loaded.trials]


# -- the shared range check ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "kwargs", "problem"),
    [
        (1e-4, INF, {}, "needs finite bounds"),
        (-INF, 0.0, {}, "needs finite bounds"),
        (NAN, 1.0, {}, "needs finite bounds"),
        (0.0, NAN, {"allow_equal": True}, "needs finite bounds"),
        (0, 10**400, {}, "within the float range"),
        (-1e308, 1e308, {}, "too wide to sample"),
        (-1.7e308, 1.7e308, {"allow_equal": True}, "too wide to sample"),
        (1.0, 1.0, {}, "needs low < high"),
        (2.0, 1.0, {"allow_equal": True}, "needs low <= high"),
        (0.0, 1.0, {"step": NAN}, "finite step > 0"),
        (0.0, 1.0, {"step": INF}, "finite step > 0"),
        (0.0, 1.0, {"step": 0}, "finite step > 0"),
    ],
)
def test_range_problem_names_what_is_wrong(low, high, kwargs, problem):
    from crystallize.optimize.base import range_problem

    assert problem in range_problem(low, high, **kwargs)


@pytest.mark.parametrize(
    ("low", "high", "kwargs"),
    [(1e-4, 1e-1, {}), (1.0, 1.0, {"allow_equal": True}), (-1e307, 1e307, {}), (1, 8, {"step": 1}),
     (1e-300, 1e308, {}), (0, 2**70, {})],
)
def test_range_problem_accepts_sampleable_ranges(low, high, kwargs):
    from crystallize.optimize.base import range_problem

    assert range_problem(low, high, **kwargs) is None


# -- random and grid search ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ((1e-4, INF), r"'lr' needs finite bounds \(not inf or NaN\), got \(0\.0001, inf\)"),
        ((-INF, 1.0), r"'lr' needs finite bounds .*got \(-inf, 1\.0\)"),
        ((NAN, 1.0), r"'lr' needs finite bounds .*got \(nan, 1\.0\)"),
        ((0, 10**400), r"'lr' needs bounds within the float range"),
        ((-1e308, 1e308), r"'lr' is too wide to sample: high - low is beyond the float range"),
        ((1.0, 0.1), r"'lr' needs low < high, got \(1\.0, 0\.1\)"),
    ],
)
def test_random_search_refuses_unsampleable_range_when_made(entry, message):
    with pytest.raises(ValueError, match=r"Search space range " + message):
        RandomSearchOptimizer({"lr": entry}, seed=0)


def test_random_search_draws_finite_values_from_a_huge_but_finite_range():
    optimizer = RandomSearchOptimizer({"x": (-1e307, 1e307)}, seed=0)
    assert all(math.isfinite(optimizer.ask()["x"]) for _ in range(50))


def test_grid_search_still_refuses_any_range():
    with pytest.raises(ValueError, match="grid search needs a list"):
        GridSearchOptimizer({"lr": (1e-4, INF)})


# -- OptunaOptimizer: ranges --------------------------------------------------------------------


def optuna_bad_entries(optuna):
    dists = optuna.distributions
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna warns about step=nan (and replaces high by nan)
        nan_step = dists.FloatDistribution(0.0, 1.0, step=NAN)
    return [
        ((1e-4, INF), r"the range \(0\.0001, inf\) needs finite bounds"),
        ((NAN, 1.0), r"the range \(nan, 1\.0\) needs finite bounds"),
        ((-1e308, 1e308), r"the range \(-1e\+308, 1e\+308\) is too wide to sample"),
        ((0, 10**400), r"the range \(0, 10+\) needs bounds within the float range"),
        ((1.0, 0.1), r"the range \(1\.0, 0\.1\) needs low <= high"),
        (dists.FloatDistribution(1e-4, INF), r"FloatDistribution\(.*\) needs finite bounds"),
        (dists.FloatDistribution(-INF, 0.0), r"FloatDistribution\(.*\) needs finite bounds"),
        (dists.FloatDistribution(1e-3, INF, log=True), r"FloatDistribution\(.*log=True.*\) needs finite bounds"),
        (dists.FloatDistribution(NAN, 1.0), r"FloatDistribution\(.*\) needs finite bounds"),
        (dists.FloatDistribution(-1e308, 1e308), r"FloatDistribution\(.*\) is too wide to sample"),
        (dists.FloatDistribution(-1.7e308, 1.7e308, step=1e307), r"FloatDistribution\(.*\) is too wide"),
        (nan_step, r"FloatDistribution\(.*\) needs finite bounds"),
        (dists.IntDistribution(0, 10**400), r"IntDistribution\(.*\) needs bounds within the float range"),
        (dists.IntDistribution(1, 10**400, log=True), r"IntDistribution\(.*\) needs bounds within"),
    ]


def test_optuna_refuses_unsampleable_range_when_made(optuna, tmp_path):
    from crystallize.optimize import OptunaOptimizer

    study = stored_study(optuna, tmp_path)
    for entry, message in optuna_bad_entries(optuna):
        with pytest.raises(ValueError, match=r"search_space entry 'lr': " + message):
            OptunaOptimizer(study, {"lr": entry}, metric="accuracy")
    assert states(optuna, tmp_path) == []  # refused before any trial was opened


def test_optuna_still_accepts_sampleable_ranges(optuna):
    from crystallize.optimize import OptunaOptimizer

    dists = optuna.distributions
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the deprecated distribution
        old_style = dists.UniformDistribution(0.0, 1.0)
    space = {
        "a": (0.5, 0.5),  # Optuna accepts low == high: it always proposes 0.5
        "b": (-1e307, 1e307),
        "c": dists.FloatDistribution(1e-300, 1e308, log=True),
        "d": dists.IntDistribution(1, 9, step=2),
        "e": old_style,
        "f": [2, 4, 8],
    }
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    optimizer = OptunaOptimizer(study, space, metric="accuracy")
    assert type(optimizer.distributions["e"]) is dists.FloatDistribution
    for _ in range(5):
        values = optimizer.ask()
        assert values["a"] == 0.5 and math.isfinite(values["b"]) and values["d"] in (1, 3, 5, 7, 9)
        optimizer.tell(values, 0.0)


def test_optuna_proposals_are_the_ones_study_ask_with_fixed_distributions_makes(optuna):
    from crystallize.optimize import OptunaOptimizer

    dists = optuna.distributions
    space = {
        "lr": dists.FloatDistribution(1e-4, 1e-1, log=True),
        "depth": dists.IntDistribution(1, 8),
        "width": (0.0, 1.0),
        "act": ["relu", "tanh"],
    }
    ours = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=3, n_startup_trials=3))
    optimizer = OptunaOptimizer(ours, space)
    theirs = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=3, n_startup_trials=3))
    fixed = dict(optimizer.distributions)
    for i in range(8):
        values = optimizer.ask()
        trial = theirs.ask(fixed_distributions=fixed)
        assert values == trial.params
        optimizer.tell(values, float(i % 3))
        theirs.tell(trial, float(i % 3))


def test_optuna_stored_study_with_an_infinite_range_keeps_no_trial_running(optuna, tmp_path):
    from crystallize.optimize import OptunaOptimizer

    with pytest.raises(ValueError, match=r"'lr': the range \(0\.0001, inf\) needs finite bounds"):
        optimize(build(tmp_path), OptunaOptimizer(stored_study(optuna, tmp_path), {"lr": (1e-4, INF)}),
                 3, 1, metric="accuracy")
    assert states(optuna, tmp_path) == []


# -- OptunaOptimizer.ask() failing --------------------------------------------------------------


def test_resumed_study_with_changed_kind_names_the_key_and_fails_the_trial(optuna, tmp_path):
    from crystallize.optimize import OptunaOptimizer

    optimize(build(tmp_path), OptunaOptimizer(stored_study(optuna, tmp_path), {"depth": [2, 4, 8]},
                                              metric="accuracy"), 2, 1)
    changed = OptunaOptimizer(
        stored_study(optuna, tmp_path), {"depth": optuna.distributions.IntDistribution(1, 8)}, metric="accuracy"
    )
    with pytest.raises(ValueError) as raised:
        optimize(build(tmp_path), changed, 2, 1)
    message = str(raised.value)
    assert re.search(
        r"search_space entry 'depth' is an int range 1\.\.8, but the study 's' already has trials "
        r"where 'depth' is a list of choices \[2, 4, 8\]; Optuna refuses a different kind of "
        r"distribution for a parameter of a study\. Use a new study name, or keep the search space "
        r"the study was made with \(trial 2, opened for this proposal, is marked FAIL\)",
        message,
    ), message
    assert isinstance(raised.value.__cause__, ValueError)
    assert "different distribution kind" in str(raised.value.__cause__)
    assert states(optuna, tmp_path) == ["COMPLETE", "COMPLETE", "FAIL"]
    assert changed._pending == []


@pytest.mark.parametrize(
    ("before", "after", "cause"),
    [
        ("linear", "log", r"'lr' is a float range 0\.001\.\.1\.0 on a log scale, .* 'lr' is a float "
                          r"range 0\.001\.\.1\.0; Optuna refuses a different scale \(log or linear\)"),
        ("choices", "fewer", r"'lr' is a list of choices \[0\.1\], .* 'lr' is a list of choices "
                             r"\[0\.1, 0\.2\]; Optuna refuses different choices"),
    ],
)
def test_resumed_study_with_changed_scale_or_choices_fails_the_trial(optuna, tmp_path, before, after, cause):
    from crystallize.optimize import OptunaOptimizer

    dists = optuna.distributions
    spaces = {
        "linear": dists.FloatDistribution(1e-3, 1.0),
        "log": dists.FloatDistribution(1e-3, 1.0, log=True),
        "choices": [0.1, 0.2],
        "fewer": [0.1],
    }
    first = OptunaOptimizer(stored_study(optuna, tmp_path), {"lr": spaces[before]})
    first.tell(first.ask(), 1.0)
    second = OptunaOptimizer(stored_study(optuna, tmp_path), {"lr": spaces[after]})
    with pytest.raises(ValueError, match=cause):
        second.ask()
    assert states(optuna, tmp_path) == ["COMPLETE", "FAIL"]


def test_a_worker_changing_the_space_mid_search_fails_the_other_workers_trial(optuna, tmp_path):
    # Two optimizers on one stored study, made before either has a trial: the second
    # learns of the conflict only when it asks.
    from crystallize.optimize import OptunaOptimizer

    ints = OptunaOptimizer(stored_study(optuna, tmp_path), {"depth": optuna.distributions.IntDistribution(1, 8)})
    choices = OptunaOptimizer(stored_study(optuna, tmp_path), {"depth": [2, 4, 8]})
    choices.tell(choices.ask(), 1.0)
    with pytest.raises(ValueError, match=r"'depth' is an int range 1\.\.8, .* is a list of choices"):
        ints.ask()
    assert states(optuna, tmp_path) == ["COMPLETE", "FAIL"]


@pytest.mark.parametrize("error", [RuntimeError("sampler broke"), KeyboardInterrupt()])
def test_any_error_while_sampling_fails_the_trial_and_goes_on(optuna, tmp_path, error):
    from crystallize.optimize import OptunaOptimizer

    class Broken(optuna.samplers.RandomSampler):
        def sample_independent(self, study, trial, name, distribution):
            if name == "depth":
                raise error
            return super().sample_independent(study, trial, name, distribution)

    optimizer = OptunaOptimizer(stored_study(optuna, tmp_path, Broken(seed=0)), {"lr": (0.0, 1.0), "depth": [2, 4]})
    with pytest.raises(type(error)) as raised:
        optimizer.ask()
    assert raised.value is error
    assert any("search_space entry 'depth'; trial 0 is marked FAIL" in n for n in getattr(error, "__notes__", []))
    assert states(optuna, tmp_path) == ["FAIL"]
    assert optimizer._pending == []

