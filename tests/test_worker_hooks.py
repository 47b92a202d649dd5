"""Worker-side hooks: failures are blamed on the hook, driver-only plugins stay in the
driver under a custom process executor, and hook definitions are checked wherever they
come from (mixins) and refused when they could never run (``async def``)."""

from __future__ import annotations

import os
import pickle
import threading

import pytest

from crystallize import ArtifactPlugin, BasePlugin, Experiment, Pipeline, data_source, pipeline_step
from crystallize.events import LiveEvent, QueueSink, drain
from crystallize.exceptions import PluginError
from crystallize.replicate import ReplicateRunner, baseline_condition


@data_source
def replicate_number(ctx):
    return ctx["replicate"]


@pipeline_step()
def first(data, ctx):
    return data, {"first": data}


@pipeline_step()
def second(data, ctx):
    return data, {"second": data}


@pipeline_step()
def broken(data, ctx):
    raise ValueError("step bug")


@pipeline_step()
def ticks(data, ctx):
    ctx.emit("tick", rep=ctx["replicate"])
    return data, {"x": 1.0}


def _experiment(plugins, steps=None, replicates=2, name="hooks"):
    return Experiment(
        datasource=replicate_number(), pipeline=Pipeline(steps or [first(), second()]),
        plugins=[*plugins, ArtifactPlugin(root_dir=None)], replicates=replicates, name=name,
    )


# -- 1. a raising worker hook is named, not the step it wraps ------------------------------
class FailsAt(BasePlugin):
    """Raises in ``hook`` at the step named ``at`` (any step when ``at`` is None)."""

    def __init__(self, hook, at=None):
        self.hook = hook
        self.at = at

    def _maybe(self, hook, step=None):
        if hook == self.hook and (self.at is None or step.name == self.at):
            raise RuntimeError(f"plugin fails in {hook}")

    def before_replicate(self, experiment, ctx):
        self._maybe("before_replicate")

    def before_step(self, experiment, step):
        self._maybe("before_step", step)

    def after_step(self, experiment, step, data, ctx):
        self._maybe("after_step", step)


@pytest.mark.parametrize("hook", ["before_replicate", "before_step", "after_step"])
def test_a_raising_worker_hook_is_reported_as_that_hook(hook):
    result = _experiment([FailsAt(hook)]).run()
    assert [(e.condition, e.replicate, e.step) for e in result.errors] == [
        ("baseline", 0, f"FailsAt.{hook}"),
        ("baseline", 1, f"FailsAt.{hook}"),
    ]
    assert {e.message for e in result.errors} == {f"plugin fails in {hook}"}
    assert f"step 'FailsAt.{hook}'" in str(result.errors[0])


def test_an_after_step_failure_keeps_the_steps_that_completed_before_it():
    result = _experiment([FailsAt("after_step", at="second")], replicates=1).run()
    (error,) = result.errors
    assert error.step == "FailsAt.after_step"
    (record,) = result.records
    assert [s.name for s in record.steps] == ["first"]


def test_a_step_failing_after_a_before_step_hook_is_still_blamed_on_the_step():
    result = _experiment([FailsAt("never")], steps=[first(), broken()], replicates=1).run()
    (error,) = result.errors
    assert (error.step, error.message) == ("broken", "step bug")


# -- 2. the driver's event sink is never sent to worker processes ------------------------
class LockedListener(BasePlugin):
    """A driver-only plugin that cannot be pickled (it holds a lock)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events = []

    def on_event(self, experiment, ctx, event, payload):
        with self.lock:
            self.events.append((os.getpid(), event, payload["rep"]))


class PoolLoop(BasePlugin):
    """A custom executor in the style of the docs: a process pool mapping replicate_fn."""

    def run_experiment_loop(self, experiment, replicate_fn):
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(2) as pool:
            return list(pool.map(replicate_fn, range(experiment.replicates)))


class PoolLoopWithEvents(BasePlugin):
    """A custom process executor that routes live events back through a queue."""

    def run_experiment_loop(self, experiment, replicate_fn):
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import Manager

        with Manager() as manager, ProcessPoolExecutor(2) as pool:
            events = manager.Queue()
            results = list(pool.map(replicate_fn.with_event_sink(QueueSink(events)), range(experiment.replicates)))
            return drain(events) + results


def test_a_custom_process_executor_does_not_pickle_driver_only_plugins():
    listener = LockedListener()
    result = _experiment([listener, PoolLoop()], steps=[ticks()], replicates=3).run()
    assert result.metrics.baseline.metrics["x"] == [1.0, 1.0, 1.0]
    assert listener.events == []  # events of a worker without a sink of its own go nowhere live
    assert [r.events for r in result.records] == [[("tick", {"rep": rep})] for rep in range(3)]


def test_a_custom_process_executor_delivers_events_through_with_event_sink():
    listener = LockedListener()
    _experiment([listener, PoolLoopWithEvents()], steps=[ticks()], replicates=3).run()
    assert sorted(rep for _, _, rep in listener.events) == [0, 1, 2]
    assert {pid for pid, _, _ in listener.events} == {os.getpid()}  # delivered in the driver


def _runner():
    return ReplicateRunner(_experiment([], steps=[ticks()], replicates=1), [baseline_condition()], [0])


def test_an_event_sink_set_on_the_runner_stays_in_the_driver():
    runner = _runner()
    runner.event_sink = lambda event: None  # what the engine installs: driver-side, unpicklable
    assert pickle.loads(pickle.dumps(runner)).event_sink is None


def test_an_event_sink_given_with_event_sink_travels():
    import queue

    seen = queue.Queue()
    runner = pickle.loads(pickle.dumps(_runner().with_event_sink(QueueSink(_PicklableQueue()))))
    assert isinstance(runner.event_sink, QueueSink)
    runner.with_event_sink(QueueSink(seen))(0)
    (event,) = drain(seen)
    assert isinstance(event, LiveEvent) and (event.event, event.payload) == ("tick", {"rep": 0})


class _PicklableQueue:
    def put(self, item):
        pass


# -- 3. hook definitions are checked wherever they are found -----------------------------
def test_async_hooks_are_refused_when_the_class_is_defined():
    with pytest.raises(PluginError, match=r"AsyncEnd\.on_replicate_end is an async def.*called synchronously"):

        class AsyncEnd(BasePlugin):
            async def on_replicate_end(self, experiment, record):
                pass

    with pytest.raises(PluginError, match=r"AsyncStep\.after_step is an async def"):

        class AsyncStep(BasePlugin):
            async def after_step(self, experiment, step, data, ctx):
                pass


def test_async_generator_hooks_are_refused():
    with pytest.raises(PluginError, match=r"AsyncGen\.before_run is an async generator"):

        class AsyncGen(BasePlugin):
            async def before_run(self, experiment):
                yield


class WrongArityMixin:
    def before_step(self, experiment):
        pass


class AsyncMixin:
    async def before_run(self, experiment):
        pass


class CountingMixin:
    def before_step(self, experiment, step):
        self.calls = getattr(self, "calls", 0) + 1


def test_a_hook_with_the_wrong_arity_in_a_mixin_is_refused():
    with pytest.raises(PluginError, match=r"FromMixin\.before_step \(defined in WrongArityMixin\) takes 2"):

        class FromMixin(WrongArityMixin, BasePlugin):
            pass


def test_an_async_hook_in_a_mixin_is_refused():
    with pytest.raises(PluginError, match=r"FromAsyncMixin\.before_run \(defined in AsyncMixin\) is an async def"):

        class FromAsyncMixin(AsyncMixin, BasePlugin):
            pass


def test_a_correct_hook_in_a_mixin_is_accepted_and_runs():
    class Counting(CountingMixin, BasePlugin):
        pass

    plugin = Counting()
    result = _experiment([plugin], replicates=2).run()
    assert result.errors == [] and plugin.calls == 4  # 2 steps x 2 replicates


def test_an_overridden_hook_in_a_subclass_hides_the_one_it_replaces():
    class Fine(WrongArityMixin):
        def before_step(self, experiment, step):
            pass

    class Plugin(Fine, BasePlugin):
        pass

    assert Plugin().before_step(None, None) is None
