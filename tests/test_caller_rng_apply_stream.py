"""``apply()``, ``debug()`` and the body of a ``for record in experiment.stream()`` loop
leave the caller's random generators alone, as ``run()`` does: after ``apply()`` or
``debug()`` Python's ``random`` and NumPy's global generator are where they were (after
the base seed of a ``seed=None`` run was drawn from them), and code in a stream's loop
body draws from the caller's own stream, not from the replicates' seeded one, without
changing the run's results."""

from __future__ import annotations

import io
import random

import pytest

from crystallize import (
    ArtifactPlugin,
    AsyncExecution,
    BasePlugin,
    Experiment,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    treatment,
)

np = pytest.importorskip("numpy")


@data_source
def zero(ctx):
    return 0.0


@pipeline_step()
def draw(data, ctx, *, x=0):
    return data, {"m": random.random() + float(np.random.rand()) + x}


@pipeline_step()
def fail(data, ctx):
    raise ValueError("boom")


@pipeline_step()
def keep_pre_draw(data, ctx):
    return data, {"pre": ctx["pre_draw"]}


class DrawsBeforeSeeding(BasePlugin):
    """Draws in ``before_replicate``, which runs before the SeedPlugin's: what it gets
    comes from the state the previous condition × replicate left behind."""

    def before_replicate(self, experiment, ctx):
        ctx.add("pre_draw", random.random() + float(np.random.rand()))


def _experiment(seed=42, steps=None, replicates=3, name="callers", plugins=()) -> Experiment:
    return Experiment(
        datasource=zero(),
        pipeline=Pipeline(steps or [draw()]),
        plugins=[SeedPlugin(seed=seed), ArtifactPlugin(root_dir=None), *plugins],
        treatments=[treatment("t", {"x": 1})],
        replicates=replicates,
        name=name,
    )


def _next_draws() -> tuple[float, float]:
    return random.random(), float(np.random.rand())


def _seed_both(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)


def _draws_after_seeding(seed: int, count: int = 1) -> list[tuple[float, float]]:
    _seed_both(seed)
    return [_next_draws() for _ in range(count)]


# -- apply() ---------------------------------------------------------------------------


def test_apply_leaves_the_callers_generators_where_they_were():
    expected = _draws_after_seeding(5)
    _seed_both(5)
    _experiment().apply()
    assert [_next_draws()] == expected


def test_apply_with_data_and_seed_leaves_the_callers_generators_where_they_were():
    expected = _draws_after_seeding(6)
    _seed_both(6)
    _experiment().apply(treatment="t", data=1.0, seed=11)
    assert [_next_draws()] == expected


def test_apply_leaves_the_callers_generators_where_they_were_when_a_step_raises():
    expected = _draws_after_seeding(7)
    _seed_both(7)
    with pytest.raises(ValueError, match="boom"):
        _experiment(steps=[draw(), fail()]).apply()
    assert [_next_draws()] == expected


def test_calls_to_apply_do_not_repeat_the_callers_draws():
    """A service calling apply() per request goes on drawing from its own stream."""
    expected = _draws_after_seeding(8, count=3)
    _seed_both(8)
    experiment = _experiment()
    got = []
    for _ in range(3):
        experiment.apply()
        got.append(_next_draws())
    assert got == expected


def test_an_unseeded_apply_takes_only_its_base_seed_from_the_callers_random():
    random.seed(3)
    np.random.seed(3)
    random.getrandbits(32)  # the base seed, as for run()
    expected = _next_draws()
    random.seed(3)
    np.random.seed(3)
    _experiment(seed=None).apply()
    assert _next_draws() == expected


def test_apply_still_draws_from_its_seeded_generators():
    @pipeline_step()
    def report(data, ctx, *, x=0):
        return random.random() + float(np.random.rand())

    _seed_both(11)
    expected = random.random() + float(np.random.rand())
    _seed_both(12345)  # the caller's state does not matter
    assert _experiment(steps=[report()]).apply(data=0.0, seed=11) == expected


def test_a_custom_seed_fn_leaves_the_generators_to_the_user_in_apply():
    experiment = Experiment(
        datasource=zero(),
        pipeline=Pipeline([draw()]),
        plugins=[SeedPlugin(seed=1, seed_fn=random.seed), ArtifactPlugin(root_dir=None)],
        name="own_seeding",
    )
    random.seed(1)
    random.random()  # what the step draws
    expected = random.random()
    random.seed(99)
    experiment.apply()
    assert random.random() == expected  # not put back: the seed_fn's seeding stays


# -- debug() ---------------------------------------------------------------------------


def _quiet_console():
    from rich.console import Console

    return Console(file=io.StringIO(), width=120)


def test_debug_leaves_the_callers_generators_where_they_were():
    expected = _draws_after_seeding(13)
    _seed_both(13)
    _experiment().debug(treatment="t", replicate=1, console=_quiet_console())
    assert [_next_draws()] == expected


def test_debug_of_a_failing_step_leaves_the_callers_generators_where_they_were():
    expected = _draws_after_seeding(14)
    _seed_both(14)
    _experiment(steps=[draw(), fail()]).debug(console=_quiet_console())
    assert [_next_draws()] == expected


def test_debug_still_runs_the_replicates_seeded_draws():
    experiment = _experiment(replicates=2)
    wanted = experiment.run().metrics.baseline.metrics["m"][1]

    @pipeline_step()
    def passthrough(data, ctx, *, x=0):
        return random.random() + float(np.random.rand())

    _seed_both(777)
    got = _experiment(steps=[passthrough()], replicates=2).debug(replicate=1, console=_quiet_console())
    assert got == wanted


# -- stream() --------------------------------------------------------------------------


def test_loop_body_draws_come_from_the_callers_own_stream():
    experiment = _experiment(replicates=3)
    records = 2 * 3
    expected = _draws_after_seeding(21, count=records + 1)
    _seed_both(21)
    got = [_next_draws() for _ in experiment.stream()]
    got.append(_next_draws())  # after the loop, the stream goes on where the body left it
    assert got == expected


def test_loop_body_draws_depend_on_the_callers_seed():
    bodies = []
    for seed in (1, 2):
        _seed_both(seed)
        bodies.append([_next_draws() for _ in _experiment(replicates=2).stream()])
    assert bodies[0] != bodies[1]


def test_a_stream_read_part_way_gives_the_caller_its_own_stream_meanwhile():
    expected = _draws_after_seeding(22, count=3)
    _seed_both(22)
    stream = _experiment(replicates=4).stream()
    records = iter(stream)
    next(records)
    try:
        got = [_next_draws() for _ in range(3)]  # a notebook cell while the stream is open
    finally:
        stream.close()
    assert got == expected


def test_loop_body_draws_leave_the_runs_results_unchanged():
    """The run's own state comes back after each yield: even a plugin that draws before
    the SeedPlugin seeds (from the state the previous replicate left) gets what it gets
    under run()."""
    plugins = [DrawsBeforeSeeding()]
    steps = [draw(), keep_pre_draw()]
    _seed_both(23)  # the first condition's early draw comes from the caller's state
    reference = _experiment(steps=steps, plugins=plugins, name="ref").run()
    _seed_both(23)
    stream = _experiment(steps=steps, plugins=[DrawsBeforeSeeding()], name="streamed").stream()
    for _ in stream:
        for _ in range(5):
            _next_draws()
    result = stream.result
    assert result is not None and not result.errors
    assert result.metrics.baseline.metrics == reference.metrics.baseline.metrics
    assert result.metrics.treatments["t"].metrics == reference.metrics.treatments["t"].metrics
    assert [r.seed for r in result.records] == [r.seed for r in reference.records]


def test_the_caller_reseeding_in_the_loop_body_does_not_reach_the_run():
    reference = _experiment(name="ref2").run()
    stream = _experiment(name="reseeding").stream()
    for _ in stream:
        _seed_both(0)
    assert stream.result.metrics.baseline.metrics == reference.metrics.baseline.metrics
    assert stream.result.metrics.treatments["t"].metrics == reference.metrics.treatments["t"].metrics


def test_run_saves_the_callers_state_once_whatever_the_number_of_replicates(monkeypatch):
    """run() consumes the run without yielding: it does not pay for the swap per record."""
    calls = []
    real = random.getstate
    monkeypatch.setattr(random, "getstate", lambda: calls.append(1) or real())
    counts = []
    for replicates in (2, 12):
        calls.clear()
        _experiment(replicates=replicates, name=f"count{replicates}").run()
        counts.append(len(calls))
    assert counts[0] == counts[1]


def test_an_async_stream_keeps_its_results_and_gives_the_caller_back_its_state():
    """Under AsyncExecution the replicates run in another thread while the loop body
    runs: the generators are not swapped per record (that would reach a replicate in
    the middle of a step), only put back when the stream ends."""
    def make(name):
        return Experiment(
            datasource=zero(),
            pipeline=Pipeline([draw()]),
            plugins=[SeedPlugin(seed=3), ArtifactPlugin(root_dir=None), AsyncExecution(max_concurrency=1)],
            replicates=4,
            name=name,
        )

    reference = make("async_ref").run()
    expected = _draws_after_seeding(24)
    _seed_both(24)
    stream = make("async_stream").stream()
    for _ in stream:
        pass
    assert [_next_draws()] == expected
    assert stream.result.metrics.baseline.metrics == reference.metrics.baseline.metrics


def test_a_consumer_that_never_draws_can_skip_the_swap():
    """``display_stream`` (``iter_run(..., lend_rngs=False)``, for a progress display)
    saves the per-record swap: its loop body sees the run's generators, and the results
    are the same."""
    from crystallize.engine import display_stream

    reference = _experiment(name="ref3").run()
    bodies = []
    for seed in (1, 2):
        _seed_both(seed)
        stream = display_stream(_experiment(name="unlent"))
        bodies.append([_next_draws() for _ in stream])
        assert stream.result.metrics.baseline.metrics == reference.metrics.baseline.metrics
    assert bodies[0] == bodies[1]  # the run's seeded state, whatever the caller's


def test_the_command_and_the_terminal_ui_stream_without_lending(monkeypatch):
    """``crystallize run`` and the TUI only display records: they skip the swap."""
    from rich.console import Console

    from crystallize import engine
    from crystallize.cli.progress import RunProgress
    from crystallize.cli.run import run_with_progress
    from crystallize.cli.tui.runner import RunController

    lent = []
    real = engine.iter_run

    def spy(*args, lend_rngs=True, **kwargs):
        lent.append(lend_rngs)
        return real(*args, lend_rngs=lend_rngs, **kwargs)

    monkeypatch.setattr(engine, "iter_run", spy)
    result = run_with_progress(_experiment(name="cli"), None, "rerun", RunProgress(Console(file=io.StringIO())))
    assert len(result.records) == 6
    outcome = RunController([_experiment(name="tui")], lambda *a: None, lambda *a: None, lambda text: None).run()
    assert "tui" in outcome.results
    assert lent == [False, False]
