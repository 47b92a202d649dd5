"""Runs whose replicates run in this process share Python's ``random`` and NumPy's global
generator. Two such runs at once in two threads spoil each other's seeded numbers: each
says so (a RuntimeWarning, kept in ``result.warnings`` and the store), and a cacheable
step that drew from the shared generators is not cached, under thread execution either,
so a later clean run never gets those numbers back."""

from __future__ import annotations

import random
import threading
import warnings

import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    SerialExecution,
    data_source,
    pipeline_step,
)
from crystallize.store import load_result


class Gate:
    """Holds each thread that reaches :meth:`pause` until the other one reaches it too
    (so both drew their first number before either draws the second); once opened,
    ``pause`` returns at once."""

    def __init__(self) -> None:
        self.barrier: threading.Barrier | None = threading.Barrier(2)

    def pause(self) -> None:
        if self.barrier is not None:
            self.barrier.wait(10)

    def open(self) -> None:
        self.barrier = None


GATE = Gate()


@pytest.fixture(autouse=True)
def _fresh_gate(monkeypatch):
    monkeypatch.setattr(GATE, "barrier", threading.Barrier(2))


@data_source
def one(ctx):
    return 1.0


@pipeline_step(cacheable=True)
def draw_twice(data, ctx):
    first = random.random()
    GATE.pause()
    return data, {"v": first + random.random()}


@pipeline_step(cacheable=True)
def double(data, ctx):
    return data * 2


@pipeline_step()
def plain_draw(data, ctx):
    return data, {"v": random.random()}


def _experiment(name, seed, steps=None, execution=None, root="data", replicates=1) -> Experiment:
    plugins = [SeedPlugin(seed=seed), ArtifactPlugin(root_dir=root), execution or SerialExecution()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # thread execution's construction warning
        return Experiment(
            datasource=one(),
            pipeline=Pipeline(steps or [draw_twice()]),
            plugins=plugins,
            replicates=replicates,
            name=name,
        )


def _in_threads(*experiments: Experiment) -> tuple[list, list[str]]:
    """Run each experiment in a thread of its own, all at once; their Results in order
    and the RuntimeWarnings raised."""
    results: dict[str, object] = {}
    errors: list[BaseException] = []

    def run(experiment: Experiment) -> None:
        try:
            results[experiment.name] = experiment.run()
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=run, args=(e,)) for e in experiments]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    emitted = [str(w.message) for w in caught if w.category is RuntimeWarning]
    return [results[e.name] for e in experiments], emitted


def _v(result) -> list[float]:
    return result.metrics.baseline.metrics["v"]


def test_two_runs_at_once_in_two_threads_both_warn_and_record_it():
    (a, b), emitted = _in_threads(_experiment("A", 1), _experiment("B", 2))
    for result, other in ((a, "B"), (b, "A")):
        [warning] = [w for w in result.warnings if "another thread" in w]
        assert f"experiment '{other}'" in warning
        assert "process" in warning and "one after the other" in warning  # what to do
        assert warning in emitted  # also raised as a RuntimeWarning
        assert warning in load_result(result.run_id, "data").warnings  # and stored


def test_runs_one_after_the_other_in_threads_do_not_warn():
    GATE.open()
    first, _ = _in_threads(_experiment("A", 1))
    second, _ = _in_threads(_experiment("B", 2))
    assert first[0].warnings == [] and second[0].warnings == []


@pipeline_step()
def run_inner(data, ctx):
    inner = _experiment("inner", 3, steps=[plain_draw()], root=None).run()
    return data, {"inner_warnings": len(inner.warnings)}


def test_a_nested_run_in_the_same_thread_is_not_concurrent():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = _experiment("outer", 1, steps=[run_inner()], replicates=2).run()
    assert not result.errors
    assert result.warnings == []
    assert result.metrics.baseline.metrics["inner_warnings"] == [0, 0]


def test_a_run_nested_in_a_step_of_an_async_run_is_not_concurrent():
    """Under AsyncExecution steps run on the executor's loop thread, not the thread that
    called run(); a synchronous step blocks that loop, so a run it starts is nested."""
    from crystallize import AsyncExecution

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = _experiment("outer", 1, steps=[run_inner()], replicates=2, execution=AsyncExecution()).run()
    assert not result.errors
    assert result.warnings == []
    assert result.metrics.baseline.metrics["inner_warnings"] == [0, 0]


def test_a_drawing_step_of_two_runs_at_once_is_not_cached_for_a_later_clean_run():
    _in_threads(_experiment("A", 1, root="shared"), _experiment("B", 2, root="shared"))
    GATE.open()
    for name, seed in (("A", 1), ("B", 2)):
        clean = _experiment(name, seed, root=f"clean_{name}").run()
        later = _experiment(name, seed, root="shared").run()
        assert later.info["cache_hits"] == 0
        assert _v(later) == _v(clean)


def test_the_miss_reason_says_why_a_drawing_step_was_not_cached():
    (a, _b), _ = _in_threads(_experiment("A", 1), _experiment("B", 2))
    [reason] = [s.cache_miss_reason for r in a.full_records() for s in r.steps]
    assert "not cached" in reason and "shared" in reason


def _threaded(root, replicates=2):
    return _experiment(
        "T", 1, execution=ParallelExecution(max_workers=2, executor_type="thread"), root=root,
        replicates=replicates,
    )


def test_a_drawing_step_under_thread_execution_is_not_cached_for_a_later_serial_run():
    with pytest.warns(RuntimeWarning, match="executor_type='thread'"):
        _threaded("shared").run()
    GATE.open()
    clean = _experiment("T", 1, root="clean", replicates=2).run()
    later = _experiment("T", 1, root="shared", replicates=2).run()
    assert later.info["cache_hits"] == 0
    assert _v(later) == _v(clean)


def test_a_step_that_does_not_draw_is_still_cached_under_thread_execution():
    steps = [double(), plain_draw()]
    with pytest.warns(RuntimeWarning, match="executor_type='thread'"):
        _experiment("D", 1, steps=steps, execution=ParallelExecution(max_workers=1, executor_type="thread"),
                    replicates=2).run()
    later = _experiment("D", 1, steps=steps, replicates=2).run()
    assert later.info["cache_hits"] == 2
