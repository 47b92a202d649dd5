"""Failures reach the user with where they happened: ``after_run`` closes every run that
started, ``fail_fast`` chains the step's exception, ``apply()`` names the condition and step,
stored tracebacks start at the user's code and ``LoggingPlugin`` can show them."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest

from crystallize import (
    ArtifactPlugin,
    AsyncExecution,
    BasePlugin,
    Experiment,
    LoggingPlugin,
    ParallelExecution,
    Pipeline,
    data_source,
    hypothesis,
    pipeline_step,
    treatment,
)
from crystallize.exceptions import MissingMetricError, RunFailedError
from crystallize.stats import welch_t_test
from crystallize.utils.tracebacks import user_traceback


@data_source
def numbers(ctx):
    return [1.0, 2.0, ctx["replicate"]]


@pipeline_step()
def total(data, ctx, *, delta=0.0):
    return data, {"total": sum(data) + delta}


def helper(data):
    return 1 / 0


@pipeline_step()
def boom(data, ctx):
    return helper(data)


@pipeline_step()
async def aboom(data, ctx):
    return helper(data)


@pipeline_step()
def interrupt(data, ctx):
    raise KeyboardInterrupt


class Opens(BasePlugin):
    """Records its before_run / after_run pairs."""

    def __init__(self):
        self.calls = []

    def before_run(self, experiment):
        self.calls.append("open")

    def after_run(self, experiment, result):
        self.calls.append(("close", len(result.records)))
        self.status = result.info.get("status")


class BrokenEnd(BasePlugin):
    def on_replicate_end(self, experiment, record):
        raise RuntimeError("bad end")


class BrokenStart(BasePlugin):
    def before_run(self, experiment):
        raise RuntimeError("no licence")


class BrokenClose(BasePlugin):
    def after_run(self, experiment, result):
        raise RuntimeError("close failed")


@hypothesis(verifier=welch_t_test(), metrics="totl")
def misspelt(result):
    return 0


def _experiment(steps, plugins, **kwargs):
    kwargs.setdefault("replicates", 3)
    return Experiment(datasource=numbers(), pipeline=Pipeline(steps), plugins=plugins, name="surface", **kwargs)


# -- after_run however the run ends ---------------------------------------------------------


@pytest.mark.parametrize("stored", [True, False], ids=["stored", "no store"])
def test_a_hypothesis_naming_a_missing_metric_still_calls_after_run(stored):
    opens = Opens()
    plugins = [opens] if stored else [opens, ArtifactPlugin(root_dir=None)]
    experiment = _experiment([total()], plugins, treatments=[treatment("t", {"delta": 1.0})], hypotheses=[misspelt])
    with pytest.raises(MissingMetricError) as raised:
        experiment.run()
    assert opens.calls == ["open", ("close", 6)]
    result = raised.value.result
    assert len(result.records) == 6 and result.hypotheses == []
    note = raised.value.__notes__[-1]
    assert "every replicate ran" in note and ".result" in note
    if stored:
        assert f"stored as completed (run {result.run_id})" in note
    else:
        assert "nothing was stored" in note


def test_a_raising_after_run_adds_a_note_to_the_hypothesis_error():
    experiment = _experiment([total()], [BrokenClose()], hypotheses=[misspelt])
    with pytest.raises(MissingMetricError) as raised:
        experiment.run()
    assert any("BrokenClose.after_run also raised RuntimeError: close failed" in n for n in raised.value.__notes__)


RAISING_RUNS = {
    "on_replicate_end raises": ([total()], [BrokenEnd()], RuntimeError, ("close", 1)),
    "ctrl+c in a step": ([interrupt()], [], KeyboardInterrupt, ("close", 0)),
}


@pytest.mark.parametrize("steps,plugins,raised,closed", RAISING_RUNS.values(), ids=RAISING_RUNS.keys())
def test_a_run_that_raised_still_calls_after_run(steps, plugins, raised, closed):
    opens = Opens()
    with pytest.raises(raised):
        _experiment(steps, [opens, *plugins]).run()
    assert opens.calls == ["open", closed]


ENDINGS = {
    "completed": (lambda plugins: _experiment([total()], plugins).run(), None),
    "fail_fast": (lambda plugins: _experiment([boom()], plugins).run(fail_fast=True), "failed"),
    "hook raised": (lambda plugins: _experiment([total()], [*plugins, BrokenEnd()]).run(), "failed"),
    "ctrl+c": (lambda plugins: _experiment([interrupt()], plugins).run(), "cancelled"),
    "hypothesis raised": (lambda plugins: _experiment([total()], plugins, hypotheses=[misspelt]).run(), "completed"),
    "apply, hook raised": (lambda plugins: _experiment([total()], [*plugins, BrokenEnd()]).apply(), "failed"),
}


@pytest.mark.parametrize("run,status", ENDINGS.values(), ids=ENDINGS.keys())
def test_after_run_of_a_run_that_raised_sees_how_it_ended(run, status):
    opens = Opens()
    try:
        run([opens])
    except BaseException as exc:  # noqa: BLE001 - each ending raises its own
        assert status is not None, exc
    assert opens.status == status


def test_a_failing_before_run_closes_the_plugins_already_started():
    opens, later = Opens(), Opens()
    with pytest.raises(RuntimeError, match="no licence"):
        _experiment([total()], [opens, BrokenStart(), later]).run()
    assert opens.calls == ["open", ("close", 0)]
    assert later.calls == []  # never started, never closed


def test_apply_calls_after_run_when_a_hook_raises():
    opens = Opens()
    with pytest.raises(RuntimeError, match="bad end"):
        _experiment([total()], [opens, BrokenEnd()]).apply()
    assert opens.calls == ["open", ("close", 1)]


def test_fail_fast_keeps_run_failed_error_when_after_run_raises():
    with pytest.raises(RunFailedError) as raised:
        _experiment([boom()], [BrokenClose()]).run(fail_fast=True)
    assert any("BrokenClose.after_run also raised" in n for n in raised.value.__notes__)


# -- fail_fast: the step's own exception ------------------------------------------------------

class Listens(BasePlugin):
    """Listens to live events: executors then hand each worker a copy of the runner."""

    def on_event(self, experiment, ctx, event, payload):
        pass


IN_PROCESS = {
    "serial": ([boom()], []),
    "thread": ([boom()], [ParallelExecution(max_workers=2, executor_type="thread")]),
    "thread, events": ([boom()], [Listens(), ParallelExecution(max_workers=2, executor_type="thread")]),
    "async": ([aboom()], [AsyncExecution()]),
    "async, events": ([aboom()], [Listens(), AsyncExecution()]),
}


@pytest.mark.filterwarnings("ignore:SeedPlugin is combined:RuntimeWarning")
@pytest.mark.parametrize("steps,plugins", IN_PROCESS.values(), ids=IN_PROCESS.keys())
def test_fail_fast_chains_the_exception_of_the_failed_step(steps, plugins):
    with pytest.raises(RunFailedError) as raised:
        _experiment(steps, plugins).run(fail_fast=True)
    cause = raised.value.__cause__
    assert isinstance(cause, ZeroDivisionError)
    frames = [frame.name for frame in traceback.extract_tb(cause.__traceback__)]
    assert "helper" in frames


def test_fail_fast_in_a_worker_process_notes_the_stored_traceback():
    plugins = [ParallelExecution(max_workers=2, executor_type="process")]
    with pytest.raises(RunFailedError) as raised:
        _experiment([boom()], plugins, replicates=2).run(fail_fast=True)
    assert raised.value.__cause__ is None
    note = raised.value.__notes__[-1]
    assert "in helper" in note and "ZeroDivisionError: division by zero" in note
    assert note.endswith(raised.value.error.traceback.rstrip())


# -- apply(): which condition and step ------------------------------------------------------


def test_apply_notes_the_condition_and_step_that_failed():
    experiment = _experiment([total(), boom()], [], treatments=[treatment("t", {"delta": 1.0})])
    with pytest.raises(ZeroDivisionError) as raised:
        experiment.apply(treatment="t")
    assert raised.value.__notes__ == ["Raised by experiment.apply() in condition 't', step 'boom'."]
    frames = [frame.name for frame in traceback.extract_tb(raised.value.__traceback__)]
    assert frames[-2:] == ["boom", "helper"]  # the original traceback is kept


# -- tracebacks that start at the user's code --------------------------------------------------


def _caught_in_crystallize(code: str, **names) -> str:
    """Run ``code`` as if it were a module of the crystallize package (its frames are the
    library's) and return ``user_traceback`` of the exception it catches as ``exc``."""
    import crystallize

    filename = str(Path(crystallize.__file__).parent / "_surfacing_test.py")
    namespace = {"helper": helper, "user_traceback": user_traceback, **names}
    exec(compile(f"try:\n    {code}\nexcept Exception as exc:\n    text = user_traceback(exc)\n", filename, "exec"),
         namespace)
    return namespace["text"]


def test_user_traceback_starts_at_the_first_frame_outside_crystallize():
    text = _caught_in_crystallize("helper(None)")
    lines = text.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert "test_failure_surfacing.py" in lines[1] and "in helper" in lines[1]
    assert "_surfacing_test.py" not in text
    assert lines[-1] == "ZeroDivisionError: division by zero"


async def async_helper():
    return helper(None)


def test_user_traceback_skips_the_asyncio_loop_that_awaited_an_async_step():
    text = _caught_in_crystallize("asyncio.run(async_helper())", asyncio=__import__("asyncio"),
                                  async_helper=async_helper)
    lines = text.splitlines()
    assert "in async_helper" in lines[1], text
    assert "asyncio" not in text


def test_user_traceback_keeps_every_frame_when_none_is_the_users():
    text = _caught_in_crystallize("1 / 0")
    lines = text.splitlines()
    assert "_surfacing_test.py" in lines[1]
    assert lines[-1] == "ZeroDivisionError: division by zero"


# -- LoggingPlugin: the traceback on demand --------------------------------------------------


def _failure_logs(caplog, plugin, level):
    caplog.set_level(level, logger="crystallize")
    _experiment([boom()], [plugin], replicates=1).run()
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Replicate failed")]


def test_a_failure_is_one_line_by_default(caplog):
    (message,) = _failure_logs(caplog, LoggingPlugin(), logging.INFO)
    assert message == "Replicate failed: [baseline #0] step 'boom': ZeroDivisionError: division by zero"


@pytest.mark.parametrize("plugin,level", [(LoggingPlugin(verbose=True), logging.INFO),
                                          (LoggingPlugin(log_level="DEBUG"), logging.DEBUG)],
                         ids=["verbose", "debug"])
def test_a_failure_carries_its_traceback_when_verbose_or_debug(caplog, plugin, level):
    (message,) = _failure_logs(caplog, plugin, level)
    first, *rest = message.splitlines()
    assert first == "Replicate failed: [baseline #0] step 'boom': ZeroDivisionError: division by zero"
    assert rest[0] == "Traceback (most recent call last):"
    assert any("in helper" in line for line in rest)


def test_a_store_that_cannot_be_opened_still_closes_the_plugins(tmp_path):
    from crystallize.exceptions import StoreError

    (tmp_path / "data" / "crystallize.db").mkdir(parents=True)
    opens = Opens()
    with pytest.raises(StoreError):
        _experiment([total()], [opens]).run()
    assert opens.calls == ["open", ("close", 0)]


def test_the_log_says_how_a_run_that_raised_ended(caplog):
    caplog.set_level(logging.INFO, logger="crystallize")
    with pytest.raises(RunFailedError):
        _experiment([boom()], [LoggingPlugin()]).run(fail_fast=True)
    with pytest.raises(KeyboardInterrupt):
        _experiment([interrupt()], [LoggingPlugin()]).run()
    _experiment([total()], [LoggingPlugin()]).run()
    ends = [r.getMessage().split(" in ")[0] for r in caplog.records if r.getMessage().startswith("Experiment ")]
    assert ends == ["Experiment 'surface' failed", "Experiment 'surface' was cancelled", "Experiment 'surface' finished"]


def test_run_failed_error_mentions_the_store_only_when_there_is_one():
    from crystallize import (
        ArtifactPlugin,
        Experiment,
        Pipeline,
        RunFailedError,
        data_source,
        pipeline_step,
    )

    @data_source
    def one(ctx):
        return 1

    @pipeline_step()
    def broken(data, ctx):
        raise ValueError("nope")

    def build(root):
        return Experiment(datasource=one(), pipeline=Pipeline([broken()]), replicates=2,
                          name="ff", plugins=[ArtifactPlugin(root_dir=root)])

    with pytest.raises(RunFailedError) as stored:
        build("data").run(fail_fast=True)
    assert "kept in the store and in this exception's .result" in str(stored.value)
    with pytest.raises(RunFailedError) as unstored:
        build(None).run(fail_fast=True)
    assert "store" not in str(unstored.value)


def test_after_run_of_an_apply_that_raised_says_it_failed():
    from crystallize import BasePlugin, Experiment, Pipeline, data_source, pipeline_step

    seen = []

    class Watch(BasePlugin):
        def after_run(self, experiment, result):
            seen.append(result.info.get("status"))

    @data_source
    def one(ctx):
        return 1

    @pipeline_step()
    def broken(data, ctx):
        raise ValueError("nope")

    @pipeline_step()
    def fine(data, ctx):
        return data

    with pytest.raises(ValueError):
        Experiment(datasource=one(), pipeline=Pipeline([broken()]), plugins=[Watch()]).apply()
    Experiment(datasource=one(), pipeline=Pipeline([fine()]), plugins=[Watch()]).apply()
    assert seen == ["failed", None]


class UnprintableError(Exception):
    """An exception whose text cannot be made (as some wrapped C libraries raise)."""

    def __str__(self) -> str:
        raise RuntimeError("no text")


@data_source
def replicate_number(ctx):
    return ctx["replicate"]


@pipeline_step()
def fails_on_one(data, ctx):
    if data == 1:
        raise UnprintableError()
    return data, {"m": 1.0}


@pytest.mark.parametrize("plugins", [[], [ParallelExecution(max_workers=2, executor_type="process")]], ids=["serial", "process"])
def test_an_exception_whose_str_fails_is_kept_like_any_failure(plugins):
    experiment = Experiment(
        datasource=replicate_number(), pipeline=Pipeline([fails_on_one()]), replicates=3,
        plugins=[ArtifactPlugin(root_dir=None), *plugins],
    )
    result = experiment.run()
    (error,) = result.errors
    assert (error.replicate, error.exception_type) == (1, "UnprintableError")
    assert error.message == "<str() of the UnprintableError failed: RuntimeError>"
    assert result.metrics.baseline.metrics["m"] == [1.0, 1.0]


def test_a_verifier_raising_an_exception_whose_str_fails_gives_an_error_entry():
    from crystallize import Hypothesis, verifier

    @verifier
    def unprintable(baseline, treatment):
        raise UnprintableError()

    experiment = Experiment(
        datasource=replicate_number(), pipeline=Pipeline([fails_on_one()]), replicates=3,
        treatments=[treatment("t", {})], hypotheses=[Hypothesis(verifier=unprintable(), metrics="m", name="h")],
        plugins=[ArtifactPlugin(root_dir=None)],
    )
    result = experiment.run()
    verdict = result.get_hypothesis("h")
    assert verdict.results == {"t": {"error": "UnprintableError: <str() of the UnprintableError failed: RuntimeError>"}}


def test_a_ranker_raising_an_exception_whose_str_fails_gives_a_ranking_error():
    @hypothesis(verifier=welch_t_test(), metrics="m", name="h")
    def unprintable_ranker(result):
        raise UnprintableError()

    experiment = Experiment(
        datasource=replicate_number(), pipeline=Pipeline([fails_on_one()]), replicates=4,
        treatments=[treatment("t", {})], hypotheses=[unprintable_ranker],
        plugins=[ArtifactPlugin(root_dir=None)],
    )
    verdict = experiment.run().get_hypothesis("h")
    assert verdict.results["t"]["ranking_error"] == "UnprintableError: <str() of the UnprintableError failed: RuntimeError>"


class UnprintableClose(BasePlugin):
    def after_run(self, experiment, result):
        raise UnprintableError()


def test_a_second_after_run_raising_an_exception_whose_str_fails_is_noted():
    experiment = _experiment([total()], [BrokenClose(), UnprintableClose()], hypotheses=[misspelt])
    with pytest.raises(MissingMetricError) as raised:
        experiment.run()
    notes = raised.value.__notes__
    assert any("UnprintableClose.after_run also raised UnprintableError: <str() of the" in n for n in notes)


@data_source
def three_values(ctx):
    return [3.0, 1.0, 2.0]


@data_source
def forgets_return(ctx):
    [3.0, 1.0, 2.0]  # noqa: B018 - the mistake under test


@pipeline_step()
def normalize_without_return(data):
    [x / max(data) for x in data]  # noqa: B018 - the mistake under test


@pipeline_step()
def count(data):
    return data, {"n": len(data)}


@pytest.mark.parametrize(
    ("source", "steps", "culprit"),
    [
        (three_values, [normalize_without_return, count], "step 'normalize_without_return'"),
        (forgets_return, [count], "the datasource"),
    ],
)
def test_a_none_input_names_the_part_that_returned_it(source, steps, culprit):
    result = Experiment(datasource=source(), pipeline=Pipeline([s() for s in steps]), replicates=1,
                        plugins=[ArtifactPlugin(root_dir=None)]).run()
    [error] = result.errors
    assert error.step == "count"
    assert error.message.endswith(f"(its input was None, returned by {culprit}: does it end with return?)")
