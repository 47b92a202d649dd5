"""Driver hooks behave the same under every executor, and the engine checks what a custom
executor hands back: a raising ``on_event``, the ``on_event`` context, ``after_run`` and the verbose
log handler of runs that raise, and missing, duplicate or ``None`` results of ``run_experiment_loop``."""

from __future__ import annotations

import logging

import pytest

from crystallize import (
    ArtifactPlugin,
    AsyncExecution,
    BasePlugin,
    Experiment,
    LoggingPlugin,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    SerialExecution,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.exceptions import ContextMutationError
from crystallize.store import list_runs


@data_source
def replicate_number(ctx):
    return ctx["replicate"]


@pipeline_step()
def keep(data, ctx):
    return data, {"value": data}


@pipeline_step()
def tick(data, ctx):
    ctx.add("added_by_step", 1)
    ctx.emit("tick", rep=data)
    return data, {"value": data}


def _experiment(plugins, steps=None, root="data", replicates=4, **kwargs):
    return Experiment(
        datasource=replicate_number(), pipeline=Pipeline(steps or [keep()]), replicates=replicates,
        name="driver", plugins=[*plugins, ArtifactPlugin(root_dir=root)], **kwargs,
    )


# -- a raising on_event ------------------------------------------------------------------

class BrokenListener(BasePlugin):
    def on_event(self, experiment, ctx, event, payload):
        if payload["rep"] == 1:
            raise RuntimeError("dashboard unreachable")


EXECUTORS = [
    pytest.param(SerialExecution(), id="serial"),
    pytest.param(ParallelExecution(max_workers=2, executor_type="thread"), id="thread"),
    pytest.param(ParallelExecution(max_workers=2, executor_type="process"), id="process"),
    pytest.param(AsyncExecution(), id="async"),
]


@pytest.mark.filterwarnings("ignore:SeedPlugin is combined:RuntimeWarning")
@pytest.mark.parametrize("execution", EXECUTORS)
def test_a_raising_on_event_stops_the_run_the_same_way_under_every_executor(execution):
    with pytest.raises(RuntimeError, match="dashboard unreachable") as raised:
        _experiment([BrokenListener(), execution], [tick()]).run()
    (note,) = raised.value.__notes__
    assert note.startswith("Raised by the plugin hook BrokenListener.on_event for baseline #1 (event 'tick')")
    (run,) = list_runs("data", "driver")
    assert run.status == "failed"  # never blamed on the emitting step as a replicate failure
    assert run.summary["errors"] == 0


def test_a_raising_on_event_keeps_the_replicates_finished_before_it():
    with pytest.raises(RuntimeError):
        _experiment([BrokenListener()], [tick()]).run()
    (run,) = list_runs("data", "driver")
    assert run.n_records == 1  # replicate 0 finished before replicate 1's event


def test_a_raising_on_event_in_apply_names_the_hook():
    experiment = _experiment([BrokenListener()], [tick()])
    with pytest.raises(RuntimeError, match="dashboard unreachable") as raised:
        experiment.apply(data=1)
    assert raised.value.__notes__[0].startswith("Raised by the plugin hook BrokenListener.on_event")


# -- the context on_event receives ------------------------------------------------------

class ContextSpy(BasePlugin):
    def __init__(self):
        self.seen = []

    def on_event(self, experiment, ctx, event, payload):
        try:
            ctx.add("x", 1)
            refused = False
        except ContextMutationError:
            refused = True
        self.seen.append((ctx["condition"], ctx.get("lr"), ctx.get("delta"), ctx.get("seed_used"), refused))


@pytest.mark.parametrize("execution", [EXECUTORS[0], EXECUTORS[2]])
def test_on_event_gets_a_read_only_context_with_the_replicates_starting_values(execution):
    spy = ContextSpy()
    result = _experiment(
        [spy, execution, SeedPlugin(seed=7)], [tick()], replicates=1, initial_ctx={"lr": 0.1},
        treatments=[treatment("t", {"delta": 5})],
    ).run()
    seeds = {record.condition: record.seed for record in result.records}
    assert sorted(spy.seen) == [
        ("baseline", 0.1, None, seeds["baseline"], True),
        ("t", 0.1, 5, seeds["t"], True),
    ]


# -- after_run and the verbose log handler when a run raises --------------------------

class BrokenEnd(BasePlugin):
    def on_replicate_end(self, experiment, record):
        raise RuntimeError("bad end")


class Closer(BasePlugin):
    def __init__(self, fails=False):
        self.fails = fails
        self.closed_with = None

    def after_run(self, experiment, result):
        self.closed_with = len(result.records)
        if self.fails:
            raise RuntimeError("close failed")


def _plain_logging(monkeypatch):
    """No logging handlers anywhere, as in a plain script (so verbose adds its own).
    Called in the test body: pytest adds its own handlers after fixtures ran."""
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    crystallize_logger = logging.getLogger("crystallize")
    monkeypatch.setattr(crystallize_logger, "handlers", [])
    return crystallize_logger


class BrokenStart(BasePlugin):
    def before_run(self, experiment):
        raise RuntimeError("no licence")


@pipeline_step()
def interrupted(data, ctx):
    raise KeyboardInterrupt


FAILED_VERBOSE_RUNS = {
    "on_replicate_end raises": (lambda: _experiment([BrokenEnd(), LoggingPlugin(verbose=True)]).run(), RuntimeError),
    "ctrl+c": (lambda: _experiment([LoggingPlugin(verbose=True)], [interrupted()]).run(), KeyboardInterrupt),
    "before_run raises": (lambda: _experiment([LoggingPlugin(verbose=True), BrokenStart()]).run(), RuntimeError),
    "apply": (lambda: _experiment([BrokenEnd(), LoggingPlugin(verbose=True)]).apply(data=1), RuntimeError),
}


@pytest.mark.parametrize("failed_run", FAILED_VERBOSE_RUNS.values(), ids=FAILED_VERBOSE_RUNS.keys())
def test_a_verbose_run_that_raised_leaves_later_quiet_runs_quiet(monkeypatch, capsys, failed_run):
    plain_logging = _plain_logging(monkeypatch)
    run, raised = failed_run
    with pytest.raises(raised):
        run()
    assert "experiment 'driver'" in capsys.readouterr().err  # it was verbose
    Experiment(datasource=replicate_number(), pipeline=Pipeline([keep()]), name="quiet",
               plugins=[ArtifactPlugin(root_dir=None)]).run()
    assert "quiet" not in capsys.readouterr().err
    assert plain_logging.handlers == []


def test_a_raising_after_run_does_not_skip_the_other_plugins(monkeypatch):
    plain_logging = _plain_logging(monkeypatch)
    closer = Closer()
    with pytest.raises(RuntimeError, match="close failed") as raised:
        _experiment([Closer(fails=True), Closer(fails=True), closer, LoggingPlugin(verbose=True)]).run()
    assert raised.value.result.metrics.baseline.metrics["value"] == [0, 1, 2, 3]
    assert "Closer.after_run also raised RuntimeError: close failed" in raised.value.__notes__[-1]
    assert closer.closed_with == 4 and plain_logging.handlers == []


# -- what a custom run_experiment_loop returns --------------------------------------------

class Partial(BasePlugin):
    def run_experiment_loop(self, experiment, replicate_fn):
        return [replicate_fn(0)]


class Twice(BasePlugin):
    def run_experiment_loop(self, experiment, replicate_fn):
        return [replicate_fn(0), replicate_fn(0)] + [replicate_fn(rep) for rep in range(1, experiment.replicates)]


class Nothing(BasePlugin):
    def run_experiment_loop(self, experiment, replicate_fn):
        return None


TREATED = {"treatments": [treatment("t", {"delta": 1})]}


def test_replicates_an_executor_never_returned_are_failed_and_resume_runs_them():
    result = _experiment([Partial()], **TREATED).run()
    assert len(result.records) == 8
    missing = sorted((e.condition, e.replicate) for e in result.errors)
    assert missing == [(c, r) for c in ("baseline", "t") for r in (1, 2, 3)]
    assert {e.exception_type for e in result.errors} == {"ExecutorError"}
    assert "Partial" in result.errors[0].message
    assert any("Partial" in w and "6 of 8" in w for w in result.warnings)
    finished = _experiment([SerialExecution()], **TREATED).run(strategy="resume")
    assert finished.errors == [] and finished.metrics.baseline.metrics["value"] == [0, 1, 2, 3]
    assert finished.info["computed"] == 6


def test_a_record_returned_twice_counts_once():
    result = _experiment([Twice()], **TREATED).run()
    assert len(result.records) == 8 and result.metrics.baseline.metrics["value"] == [0, 1, 2, 3]
    assert any("Twice" in w and "baseline #0" in w for w in result.warnings)
    (run,) = list_runs("data", "driver")
    assert run.n_records == 8


def test_an_executor_returning_none_leaves_the_replicates_to_the_default_executor():
    result = _experiment([Nothing()], **TREATED).run()
    assert result.errors == [] and result.metrics.baseline.metrics["value"] == [0, 1, 2, 3]
    assert any("Nothing.run_experiment_loop returned None" in w for w in result.warnings)


CALLS = []


def _counting_treatment(ctx):
    CALLS.append(ctx["replicate"])
    ctx.add("delta", 2)


@pipeline_step()
def many_ticks(data, ctx):
    for i in range(20):
        ctx.emit("tick", i=i)
    return data, {"value": data}


def test_a_callable_treatment_is_applied_once_per_replicate_for_on_event(tmp_path):
    spy = ContextSpy()
    CALLS.clear()
    _experiment([spy, SeedPlugin(seed=7)], [many_ticks()], replicates=2,
                treatments=[treatment("t", _counting_treatment)]).run()
    # twice where the replicates run, and once per replicate for the 40 events in the driver
    assert sorted(CALLS) == [0, 0, 1, 1]


class _RayLikeQueue:
    """A queue with ray.util.queue.Queue's batch API, whose get_nowait must not be used
    (on an empty Ray queue it leaves an error result that Ray may log after a Ctrl+C)."""

    def __init__(self, items):
        self.items = list(items)

    def qsize(self):
        return len(self.items)

    def get_nowait_batch(self, count):
        if count > len(self.items):
            raise AssertionError("asked for more than is waiting")
        taken, self.items = self.items[:count], self.items[count:]
        return taken

    def get_nowait(self):
        raise AssertionError("get_nowait used on a Ray queue")


def test_drain_takes_a_ray_queues_events_in_one_batch():
    from crystallize.events import drain

    queue = _RayLikeQueue(["a", "b"])
    assert drain(queue) == ["a", "b"]
    assert drain(queue) == []
