"""Resource factories that read other resources, cycles between them, and factories
running at the same time in several threads."""

import sqlite3
import threading
import time

import pytest

from crystallize import Experiment, Pipeline, data_source, pipeline_step, resource_factory
from crystallize.utils.context import FrozenContext

TIMEOUT = 20


def _in_thread(fn):
    """Run ``fn`` in a daemon thread (a deadlock must fail the test, not hang it) and
    return ``(value, exception)``; fail if it has not finished within ``TIMEOUT``."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = fn()
        except Exception as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    assert not thread.is_alive(), "deadlocked"
    return outcome.get("value"), outcome.get("error")


def make_conn(ctx):
    return sqlite3.connect(":memory:", check_same_thread=False)


def make_repo(ctx):
    return {"conn": ctx["conn"]}  # built on the other resource


@data_source
def one(ctx):
    return 1


@pipeline_step()
def use_repo(data, ctx):
    return data, {"same_conn": int(ctx["repo"]["conn"] is ctx["conn"])}


def test_a_factory_can_read_another_resource(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    experiment = Experiment(
        datasource=one(),
        pipeline=Pipeline([use_repo()]),
        initial_ctx={"conn": resource_factory(make_conn), "repo": resource_factory(make_repo)},
        replicates=2,
    )
    result, error = _in_thread(experiment.run)
    assert error is None and not result.errors
    assert result.metrics.baseline.metrics["same_conn"] == [1, 1]


def make_self(ctx):
    return ctx["me"]


def make_a(ctx):
    return ctx["b"]


def make_b(ctx):
    return ctx["a"]


def test_a_factory_needing_itself_raises_naming_the_cycle():
    ctx = FrozenContext({"me": resource_factory(make_self)})
    _, error = _in_thread(lambda: ctx["me"])
    assert "make_self -> make_self" in str(error)


def test_factories_needing_each_other_raise_naming_the_cycle():
    ctx = FrozenContext({"a": resource_factory(make_a), "b": resource_factory(make_b)})
    _, error = _in_thread(lambda: ctx["a"])
    assert "make_a -> make_b -> make_a" in str(error)
    assert "needs its own resource" in str(error)


def test_a_cycle_closed_by_two_threads_raises_instead_of_deadlocking():
    a_started, b_started = threading.Event(), threading.Event()

    def slow_a(ctx):
        a_started.set()
        b_started.wait(TIMEOUT)
        return ctx["b"]

    def slow_b(ctx):
        b_started.set()
        a_started.wait(TIMEOUT)
        return ctx["a"]

    ctx = FrozenContext({"a": resource_factory(slow_a), "b": resource_factory(slow_b)})
    outcomes: list = []
    threads = [threading.Thread(target=lambda k=k: outcomes.append(_in_thread(lambda: ctx[k]))) for k in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [str(error) for _, error in outcomes]
    assert len(errors) == 2 and all("needs its own resource" in e for e in errors)


def test_a_slow_factory_does_not_hold_up_another_resource():
    started, release = threading.Event(), threading.Event()

    def slow_model(ctx):
        started.set()
        release.wait(TIMEOUT)
        return "model"

    ctx = FrozenContext({"model": resource_factory(slow_model), "client": resource_factory(lambda ctx: "client")})
    slow = threading.Thread(target=lambda: ctx["model"], daemon=True)
    slow.start()
    try:
        assert started.wait(TIMEOUT)
        began = time.perf_counter()
        value, error = _in_thread(lambda: ctx["client"])
        assert (value, error) == ("client", None) and time.perf_counter() - began < 5
    finally:
        release.set()
        slow.join(TIMEOUT)


def test_threads_reading_one_resource_at_once_create_it_once():
    calls = []

    def model(ctx):
        calls.append(1)
        time.sleep(0.05)
        return object()

    ctx = FrozenContext({"model": resource_factory(model)})
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(ctx["model"])) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len(calls) == 1 and len(seen) == 8 and len({id(v) for v in seen}) == 1


def test_a_factory_that_failed_runs_again_on_the_next_read():
    attempts = []

    def flaky(ctx):
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("server not up yet")
        return "connected"

    ctx = FrozenContext({"db": resource_factory(flaky)})
    with pytest.raises(ConnectionError):
        ctx["db"]
    assert ctx["db"] == "connected" and len(attempts) == 2


def test_a_factory_collected_while_the_resource_lock_is_held_does_not_deadlock():
    """The garbage collector runs a dropped factory's finalizer wherever it happens to
    run, also in a thread inside the resource bookkeeping (as the cycle check is)."""
    import gc

    from crystallize import resources

    def drop_a_factory_under_the_lock():
        factory = resource_factory(lambda ctx: 1)
        with resources._LOCK:
            del factory
            gc.collect()
        return "done"

    assert _in_thread(drop_a_factory_under_the_lock) == ("done", None)
