"""Every code block of docs/customizing-experiments (the seed page), run as written."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest

from crystallize import (
    ArtifactPlugin,
    AsyncExecution,
    Experiment,
    LoggingPlugin,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    SerialExecution,
    data_source,
    pipeline_step,
    resource_factory,
    treatment,
)
from crystallize.utils.context import FrozenContext


@data_source
def my_source(ctx):
    return {"numbers": [random.random() for _ in range(3)], "noise": float(np.random.rand())}


@pipeline_step()
def step_one(data, ctx, *, delta=0.0):
    return {"numbers": [x + delta for x in data["numbers"]], "noise": data["noise"]}


@pipeline_step()
def step_two(data, ctx):
    ctx.metrics.add("total", sum(data["numbers"]) + data["noise"])
    return data


def connect(ctx: FrozenContext):
    import sqlite3

    return sqlite3.connect(":memory:")


@pipeline_step()
def query_db(data, ctx):
    row = ctx["db"].execute("SELECT 40 + 2").fetchone()
    ctx.metrics.add("answer", row[0])
    return data


# -- 1. Default plugins and overrides ---------------------------------------------------
def test_default_plugins_exist():
    experiment = Experiment(datasource=my_source(), pipeline=Pipeline([step_one(), step_two()]))
    kinds = {type(p): p for p in experiment.plugins}
    assert kinds[ArtifactPlugin].root_dir == "data"
    assert kinds[SeedPlugin].auto_seed is True
    assert kinds[LoggingPlugin].verbose is False
    assert SerialExecution in kinds
    assert len(experiment.plugins) == 4


def test_builder_has_the_same_defaults():
    experiment = Experiment.builder().datasource(my_source()).add_step(step_one()).build()
    assert {type(p) for p in experiment.plugins} == {
        ArtifactPlugin, SeedPlugin, LoggingPlugin, SerialExecution
    }


def test_replacing_defaults_with_own_list():
    experiment = Experiment(
        datasource=my_source(),
        pipeline=Pipeline([step_one(), step_two()]),
        plugins=[
            SeedPlugin(seed=1234, auto_seed=True),
            ParallelExecution(max_workers=4, executor_type="process"),
            LoggingPlugin(verbose=True, log_level="DEBUG"),
        ],
    )
    seeds = [p for p in experiment.plugins if isinstance(p, SeedPlugin)]
    assert len(seeds) == 1 and seeds[0].seed == 1234
    assert [type(p) for p in experiment.plugins].count(LoggingPlugin) == 1
    assert experiment.get_plugin(LoggingPlugin).log_level == "DEBUG"
    assert experiment.execution_plugin.executor_type == "process"
    assert experiment.get_plugin(ArtifactPlugin).root_dir == "data"
    result = experiment.run(replicates=3)
    assert len(result.metrics.baseline.metrics["total"]) == 3
    assert not result.errors


# -- 2. Seeding strategies --------------------------------------------------------------
def _seeds(plugin, replicates=3):
    experiment = Experiment(
        datasource=my_source(), pipeline=Pipeline([step_one(), step_two()]), plugins=[plugin]
    )
    result = experiment.run(replicates=replicates)
    return [p["seed_used"] for p in result.provenance["baseline"]], result


def test_seed_formula():
    seeds, _ = _seeds(SeedPlugin(seed=1234))
    assert seeds == [(1234 + r * 31337) % 2**32 for r in range(3)]


def test_seed_formula_wraps_modulo():
    seeds, _ = _seeds(SeedPlugin(seed=2**32 - 5), replicates=2)
    assert seeds == [2**32 - 5, (2**32 - 5 + 31337) % 2**32]


def test_auto_seed_false_reuses_master_seed():
    seeds, result = _seeds(SeedPlugin(seed=77, auto_seed=False))
    assert seeds == [77, 77, 77]
    totals = result.metrics.baseline.metrics["total"]
    assert totals[0] == totals[1] == totals[2]


def test_seed_none_still_chosen_and_recorded():
    seeds, result = _seeds(SeedPlugin(seed=None))
    assert result.base_seed is not None
    assert seeds == [(result.base_seed + r * 31337) % 2**32 for r in range(3)]
    again, _ = _seeds(SeedPlugin(seed=result.base_seed))
    assert again == seeds


def test_seed_fn_block():
    def seed_all(seed: int) -> None:
        import random

        random.seed(seed)
        np.random.seed(seed % (2**32 - 1))

    seeded = SeedPlugin(seed=123, seed_fn=seed_all)
    calls = []

    def spy(seed):
        calls.append(seed)
        seed_all(seed)

    experiment = Experiment(
        datasource=my_source(), pipeline=Pipeline([step_two()]), plugins=[SeedPlugin(seed=123, seed_fn=spy)]
    )
    experiment.run(replicates=2)
    assert calls == [123, 123 + 31337]
    assert seeded.seed_fn is seed_all


def test_default_seeding_of_random_and_numpy_first_draw():
    @pipeline_step()
    def draw(data, ctx):
        ctx.metrics.add("py", random.random())
        ctx.metrics.add("np", float(np.random.rand()))
        return data

    @data_source
    def nothing(ctx):
        return None

    globals()["draw"] = draw  # keep pickling possible if ever needed
    experiment = Experiment(datasource=nothing(), pipeline=Pipeline([draw()]), plugins=[SeedPlugin(seed=5)])
    result = experiment.run(replicates=2)
    for r in range(2):
        seed = (5 + r * 31337) % 2**32
        random.seed(seed)
        np.random.seed(seed)
        assert result.metrics.baseline.metrics["py"][r] == random.random()
        assert result.metrics.baseline.metrics["np"][r] == float(np.random.rand())


def test_seed_used_in_context_and_provenance():
    seen = []

    @pipeline_step()
    def look(data, ctx):
        seen.append(ctx["seed_used"])
        return data

    experiment = Experiment(datasource=my_source(), pipeline=Pipeline([look()]), plugins=[SeedPlugin(seed=9)])
    result = experiment.run(replicates=2)
    assert seen == [9, 9 + 31337]
    assert [p["seed_used"] for p in result.provenance["baseline"]] == seen


def test_thread_executor_warns():
    with pytest.warns(RuntimeWarning, match="thread"):
        experiment = Experiment(
            datasource=my_source(),
            pipeline=Pipeline([step_one(), step_two()]),
            plugins=[SeedPlugin(seed=1), ParallelExecution(max_workers=2, executor_type="thread")],
        )
    with pytest.warns(RuntimeWarning, match="process"):
        experiment.run(replicates=2)


def test_thread_warning_uses_the_pages_words():
    """The seed page: "Thread executors share global RNG state"; API.md: "threads share
    the global RNGs, so results may not be reproducible"."""
    plugins = [SeedPlugin(seed=1), ParallelExecution(max_workers=2, executor_type="thread")]
    with pytest.warns(RuntimeWarning) as caught:
        Experiment(datasource=my_source(), pipeline=Pipeline([step_one()]), plugins=plugins)
    message = str(caught[0].message)
    for words in ("share global RNG state", "global RNGs", "may not be reproducible", "process"):
        assert words in message


def test_thread_warning_points_at_the_users_code():
    plugins = [SeedPlugin(seed=1), ParallelExecution(max_workers=2, executor_type="thread")]
    with pytest.warns(RuntimeWarning, match="thread") as built:
        experiment = Experiment(datasource=my_source(), pipeline=Pipeline([step_one()]), plugins=plugins)
    with pytest.warns(RuntimeWarning, match="thread") as ran:
        experiment.run(replicates=1)
    with pytest.warns(RuntimeWarning, match="thread") as from_builder:
        Experiment.builder().datasource(my_source()).add_step(step_one()).plugins(plugins).build()
    for caught in (built, ran, from_builder):
        assert [w.filename for w in caught] == [__file__] * len(caught)


def test_no_warning_for_process_executor():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        Experiment(
            datasource=my_source(),
            pipeline=Pipeline([step_one()]),
            plugins=[ParallelExecution(max_workers=2, executor_type="process")],
        )


# -- 3. Shared resources via resource_factory -------------------------------------------
def test_resource_factory_block():
    experiment = Experiment(
        datasource=my_source(),
        pipeline=Pipeline([query_db()]),
        initial_ctx={"db": resource_factory(connect)},
    )
    result = experiment.run(replicates=3)
    assert result.metrics.baseline.metrics["answer"] == [42, 42, 42]


def test_resource_factory_block_builds_with_its_placeholder_pipeline():
    # The block as written: Pipeline([...]) stands for "your steps here".
    from crystallize.exceptions import ExperimentValidationError

    experiment = Experiment(
        datasource=my_source(),
        pipeline=Pipeline([...]),
        initial_ctx={"db": resource_factory(connect)},
    )
    assert experiment.pipeline.placeholder and experiment.pipeline.steps == []
    assert repr(experiment.pipeline) == "Pipeline([...])"
    with pytest.raises(ExperimentValidationError, match=r"Pipeline\(\[\.\.\.\]\), the placeholder\) has no steps"):
        experiment.run()
    with pytest.raises(TypeError, match="is Ellipsis, a placeholder, not a step"):
        Pipeline([step_one(), ...])


def test_resource_factory_with_processes():
    experiment = Experiment(
        datasource=my_source(),
        pipeline=Pipeline([query_db()]),
        initial_ctx={"db": resource_factory(connect)},
        plugins=[ParallelExecution(max_workers=2, executor_type="process")],
    )
    result = experiment.run(replicates=4)
    assert result.metrics.baseline.metrics["answer"] == [42] * 4
    assert not result.errors


# -- 4. Choosing an execution strategy ---------------------------------------------------
def test_execution_strategy_constructors():
    ParallelExecution(max_workers=8, executor_type="process")
    AsyncExecution()
    SerialExecution()


@pytest.mark.parametrize(
    "execution",
    [
        SerialExecution(),
        ParallelExecution(max_workers=2, executor_type="process"),
        AsyncExecution(),
    ],
    ids=["serial", "process", "async"],
)
def test_each_strategy_runs_the_same_experiment(execution):
    experiment = Experiment(
        datasource=my_source(),
        pipeline=Pipeline([step_one(), step_two()]),
        plugins=[SeedPlugin(seed=42), execution],
        treatments=[treatment("shift", {"delta": 1.0})],
    )
    result = experiment.run(replicates=4)
    reference = Experiment(
        datasource=my_source(),
        pipeline=Pipeline([step_one(), step_two()]),
        plugins=[SeedPlugin(seed=42)],
        treatments=[treatment("shift", {"delta": 1.0})],
    ).run(replicates=4)
    assert result.metrics.baseline.metrics == reference.metrics.baseline.metrics
    assert result.metrics.treatments["shift"].metrics == reference.metrics.treatments["shift"].metrics


# -- 5. Reusing the experiment with apply() ---------------------------------------------
def test_apply_block():
    experiment = Experiment(
        datasource=my_source(),
        pipeline=Pipeline([step_one(), step_two()]),
        treatments=[treatment("best", {"delta": 1.0})],
    )
    best = experiment.treatments[0]
    result = experiment.run(treatments=[best], replicates=40)
    assert len(result.metrics.treatments["best"].metrics["total"]) == 40

    single_output = experiment.apply(
        treatment=best,
        data={"numbers": [10, 20, 30], "noise": 0.0},  # optional override for the datasource output
        seed=999,  # optional override seed forwarded to SeedPlugin
    )
    assert single_output["numbers"] == [11.0, 21.0, 31.0]


def test_apply_seed_reaches_seed_fn_and_datasource_runs_without_data():
    calls = []
    experiment = Experiment(
        datasource=my_source(), pipeline=Pipeline([step_two()]), plugins=[SeedPlugin(seed_fn=calls.append)]
    )
    out = experiment.apply(seed=999)
    assert calls == [999]
    assert len(out["numbers"]) == 3


# -- 6. Validation helpers ---------------------------------------------------------------
def test_validate():
    Experiment(datasource=my_source(), pipeline=Pipeline([step_one()])).validate()
    with pytest.raises(ValueError, match="datasource"):
        Experiment(pipeline=Pipeline([step_one()])).validate()
    with pytest.raises(ValueError, match="pipeline"):
        Experiment(datasource=my_source()).validate()
