"""Random numbers drawn outside the steps stay reproducible: by a treatment function, by
a resource factory, and cached steps under a seed_fn that leaves the generators alone."""

from __future__ import annotations

import random
import time

import pytest

from crystallize import (
    ArtifactPlugin,
    BasePlugin,
    Experiment,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    Treatment,
    data_source,
    pipeline_step,
    resource_factory,
)


@data_source
def uniform(ctx):
    return random.random()


@pipeline_step()
def record_lr(data, ctx, *, lr=0.0):
    if (ctx["condition"], ctx["replicate"]) in FAILING:
        raise RuntimeError("injected failure")
    for _ in range(1 + int(lr * 1000) % 5):  # how much a condition draws depends on it
        random.random()
    return data, {"lr": lr, "x": data}


FAILING: set[tuple[str, int]] = set()


def random_lr_a(ctx):
    ctx.add("lr", random.uniform(0, 1))


def random_lr_b(ctx):
    ctx.add("lr", random.uniform(1, 2))


def _lr_experiment(names, root="data"):
    treatments = {"a": Treatment("a", random_lr_a), "b": Treatment("b", random_lr_b)}
    return Experiment(
        datasource=uniform(),
        pipeline=Pipeline([record_lr()]),
        plugins=[SeedPlugin(seed=3), ArtifactPlugin(root_dir=root)],
        treatments=[treatments[n] for n in names],
        replicates=3,
        name="treatment_draws",
    )


def _lrs(result):
    return {name: m.metrics["lr"] for name, m in result.metrics.treatments.items()}


def test_a_treatment_function_draws_the_same_numbers_whatever_the_other_conditions():
    both = _lrs(_lr_experiment("ab").run())
    alone = _lrs(_lr_experiment("b").run())
    reordered = _lrs(_lr_experiment("ba").run())
    assert both["b"] == alone["b"] == reordered["b"]
    assert both["a"] == reordered["a"]
    assert len(set(both["a"])) == 3  # a different draw for each replicate


def test_a_treatment_function_does_not_draw_the_numbers_the_datasource_gets():
    result = _lr_experiment("a").run()
    treated = result.metrics.treatments["a"].metrics
    # The datasource is seeded again after the treatment: it sees the baseline's numbers.
    assert treated["x"] == result.metrics.baseline.metrics["x"]
    assert all(lr != x for lr, x in zip(treated["lr"], treated["x"], strict=True))


def test_resumed_treatment_function_draws_match_an_uninterrupted_run():
    expected = _lrs(_lr_experiment("ab", root="straight").run())
    FAILING.update({("b", 1), ("a", 2)})
    try:
        first = _lr_experiment("ab", root="resumed").run()
    finally:
        FAILING.clear()
    assert len(first.errors) == 2
    random.seed(12345)  # a resumed run starts from other global state
    resumed = _lrs(_lr_experiment("ab", root="resumed").run(strategy="resume"))
    assert resumed == expected


def make_model(ctx):
    """A shared model whose weights start random."""
    return [random.random() for _ in range(3)]


@data_source
def model_weight(ctx):
    return ctx["model"][0]


@pipeline_step()
def draw(data, ctx, *, pause=0.0):
    time.sleep(pause)  # long enough for both workers of a pool to take replicates
    return data, {"draw": random.random(), "w0": data}


def _model_experiment(execution=None, pause=0.0):
    plugins = [SeedPlugin(seed=5), ArtifactPlugin(root_dir=None)]
    return Experiment(
        datasource=model_weight(),
        pipeline=Pipeline([draw(pause=pause)]),
        initial_ctx={"model": resource_factory(make_model)},
        plugins=plugins + ([execution] if execution else []),
        replicates=6,
        name="model",
    )


def test_a_resource_factory_drawing_random_numbers_leaves_the_replicates_draws_alone():
    metrics = _model_experiment().run().metrics.baseline.metrics
    seeds = [(5 + r * 31337) % 2**32 for r in range(6)]
    assert metrics["draw"] == [random.Random(seed).random() for seed in seeds]
    assert len(set(metrics["w0"])) == 1  # one model for every replicate


@pytest.mark.slow
def test_a_resource_factory_builds_the_same_resource_in_every_worker_process():
    serial = _model_experiment().run().metrics.baseline.metrics
    pool = ParallelExecution(max_workers=2, executor_type="process")
    parallel = _model_experiment(pool, pause=0.1).run()
    assert len({record.worker for record in parallel.records}) == 2
    assert parallel.metrics.baseline.metrics == serial


def test_a_failing_resource_factory_is_named_in_the_error():
    def broken(ctx):
        raise OSError("cannot reach the database")

    experiment = _model_experiment()
    experiment.initial_ctx = {"model": resource_factory(broken)}
    result = experiment.run()
    assert {e.exception_type for e in result.errors} == {"OSError"}
    with pytest.raises(OSError) as raised:
        experiment.apply()
    assert any("resource factory" in note for note in raised.value.__notes__)


def leave_generators_alone(seed):
    """A seed_fn for users who seed generators of their own."""


@pipeline_step(cacheable=True)
def own_generator(data, ctx):
    rng = random.Random(ctx["seed_used"] + 1)
    return data + rng.random()


@pipeline_step(cacheable=True)
def global_generator(data, ctx):
    return data + random.random()


@pipeline_step()
def total(data, ctx):
    return data, {"total": data}


@data_source
def own_source(ctx):
    return random.Random(ctx["seed_used"]).random()


def _own_seeding(step):
    return Experiment(
        datasource=own_source(),
        pipeline=Pipeline([step(), total()]),
        plugins=[SeedPlugin(seed=9, seed_fn=leave_generators_alone), ArtifactPlugin(root_dir="data")],
        replicates=3,
        name=f"own_seeding_{step.__name__}",
    )


def test_a_step_using_its_own_generator_is_served_from_the_cache_when_seeding_is_left_to_the_user():
    first = _own_seeding(own_generator).run()
    random.seed(2024)  # the global generators are not reproducible here
    second = _own_seeding(own_generator).run()
    assert first.info["cache_hits"] == 0
    assert second.info["cache_hits"] == 3
    assert second.metrics.baseline.metrics == first.metrics.baseline.metrics


def test_a_step_drawing_from_unseeded_global_generators_is_keyed_by_their_state():
    random.seed(1)
    _own_seeding(global_generator).run()
    random.seed(2)
    second = _own_seeding(global_generator).run()
    assert second.info["cache_hits"] == 0
    reasons = {s.cache_miss_reason for r in second.full_records() for s in r.steps if s.name == "global_generator"}
    assert reasons == {"changed since the closest entry: rng (the global random generators' state when the step started)"}


def test_a_cache_hit_of_a_step_that_did_not_draw_leaves_the_generators_as_they_are():
    @pipeline_step(cacheable=True)
    def no_draw(data, ctx):
        return data * 2

    @pipeline_step()
    def after(data, ctx):
        return data, {"after": random.random()}

    def build():
        return Experiment(
            datasource=uniform(),
            pipeline=Pipeline([no_draw(), after()]),
            plugins=[SeedPlugin(seed=4), ArtifactPlugin(root_dir="data")],
            replicates=2,
            name="no_draw",
        )

    first = build().run()
    second = build().run()
    assert second.info["cache_hits"] == 2
    assert second.metrics.baseline.metrics == first.metrics.baseline.metrics


@pipeline_step()
def emit_then_draw(data, ctx, *, lr=0.0):
    ctx.emit("progress", step="emit_then_draw")
    return data, {"lr": lr, "after_event": random.random()}


class SeenLearningRates(BasePlugin):
    """Collects the learning rate each event's context shows."""

    def __init__(self):
        self.seen = {}

    def on_event(self, experiment, ctx, event, payload):
        self.seen[(ctx["condition"], ctx["replicate"])] = ctx.get("lr")


def _events_experiment(plugins):
    return Experiment(
        datasource=uniform(),
        pipeline=Pipeline([emit_then_draw()]),
        plugins=[SeedPlugin(seed=8), ArtifactPlugin(root_dir=None), *plugins],
        treatments=[Treatment("a", random_lr_a)],
        replicates=3,
        name="events",
    )


def test_an_event_hook_sees_the_values_a_treatment_function_drew_and_disturbs_no_draw():
    watcher = SeenLearningRates()
    watched = _events_experiment([watcher]).run().metrics.treatments["a"].metrics
    plain = _events_experiment([]).run().metrics.treatments["a"].metrics
    assert watched == plain  # rebuilding the event's context drew nothing from the step's stream
    assert [watcher.seen[("a", r)] for r in range(3)] == watched["lr"]


def test_a_custom_seed_fn_only_ever_receives_the_replicates_seeds():
    received = []
    experiment = Experiment(
        datasource=uniform(),
        pipeline=Pipeline([record_lr()]),
        plugins=[SeedPlugin(seed=100, seed_fn=received.append), ArtifactPlugin(root_dir=None)],
        treatments=[Treatment("a", random_lr_a)],
        replicates=2,
    )
    experiment.run()
    assert received == [100, 100, 31437, 31437]  # baseline and 'a' of each replicate
    received.clear()
    experiment.apply(treatment="a", seed=999)
    assert received == [999]


@pytest.mark.slow
def test_seed_fn_random_seed_seeds_the_workers_own_random_module():
    def build(execution):
        plugins = [SeedPlugin(seed=3, seed_fn=random.seed), ArtifactPlugin(root_dir=None)]
        return Experiment(
            datasource=uniform(), pipeline=Pipeline([record_lr()]),
            plugins=plugins + ([execution] if execution else []), replicates=3,
        )

    serial = build(None).run().metrics.baseline.metrics
    parallel = build(ParallelExecution(max_workers=2, executor_type="process")).run()
    assert parallel.metrics.baseline.metrics == serial
    assert serial["x"] == [random.Random((3 + r * 31337) % 2**32).random() for r in range(3)]


def test_compiled_seed_functions_and_parameters_are_accepted():
    np = pytest.importorskip("numpy")

    @pipeline_step()
    def draw_numpy(data, ctx, *, make=np.random.default_rng):
        return data, {"a": float(np.random.rand())}

    experiment = Experiment(
        datasource=uniform(), pipeline=Pipeline([draw_numpy()]), replicates=2,
        plugins=[SeedPlugin(seed=1, seed_fn=np.random.seed), ArtifactPlugin(root_dir="data")],
    )
    first = experiment.run().metrics.baseline.metrics["a"]
    assert first == [np.random.RandomState(1).rand(), np.random.RandomState(1 + 31337).rand()]


# -- "omit the plugin to manage randomness manually" (seed page) -------------------------
@pipeline_step()
def draw_score(data, ctx):
    return data, {"r": random.random()}


def _unseeded_run(plugins=()):
    experiment = Experiment(
        datasource=uniform(), pipeline=Pipeline([draw_score()]), plugins=list(plugins), replicates=3
    )
    return experiment.run()


def test_seeding_random_yourself_makes_runs_without_a_seed_plugin_repeatable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    random.seed(42)
    first = _unseeded_run()
    random.seed(42)
    second = _unseeded_run()
    assert first.base_seed == second.base_seed
    assert first.metrics.baseline.metrics["r"] == second.metrics.baseline.metrics["r"]
    # ... and every run still gets a recorded base seed, different from run to run.
    third = _unseeded_run()
    assert third.base_seed != second.base_seed
    assert [r.seed for r in third.records] == [(third.base_seed + i * 31337) % 2**32 for i in range(3)]


def test_a_custom_seed_fn_leaves_the_users_random_stream_untouched(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    random.seed(7)
    expected = [random.random() for _ in range(3)]
    random.seed(7)
    result = _unseeded_run([SeedPlugin(seed_fn=_leave_alone)])
    # the datasource draws the first number of each replicate, the step the next one
    drawn = result.metrics.baseline.metrics["r"]
    assert drawn == [expected[1], random_after(7, 4), random_after(7, 6)]


def _leave_alone(seed):
    """A seed_fn that leaves the generators as they are."""


def random_after(seed, n):
    gen = random.Random(seed)
    return [gen.random() for _ in range(n)][-1]
