"""A plugin hook raising ``StopIteration`` (or ``StopAsyncIteration``) stops the run like
any other hook exception: a ``RuntimeError`` naming the hook and caused by it (a
StopIteration cannot pass through the generator-based run loop, PEP 479), with the
hook's note, and for ``after_run`` the Result as ``.result``; the same under every
executor, ``stream()`` and ``apply()``."""

from __future__ import annotations

import pytest

from crystallize import (
    ArtifactPlugin,
    AsyncExecution,
    BasePlugin,
    Experiment,
    ParallelExecution,
    Pipeline,
    SerialExecution,
    data_source,
    pipeline_step,
)
from crystallize.result import Result

EXECUTIONS = [
    pytest.param(SerialExecution, id="serial"),
    pytest.param(lambda: ParallelExecution(max_workers=2, executor_type="process"), id="process"),
    pytest.param(AsyncExecution, id="async"),
]
HOOKS = ["before_run", "on_replicate_end", "on_event", "after_run"]


@data_source
def numbers(ctx):
    return [1, 2, 3]


@pipeline_step()
def total(data, ctx):
    ctx.emit("progress", done=1)
    return data, {"total": sum(data)}


def _stop(kind):
    if kind is StopIteration:
        next(iter([]))  # StopIteration from user code, as it usually comes
    raise StopAsyncIteration("no more pages")


class Exhausted(BasePlugin):
    def __init__(self, where, kind=StopIteration):
        self.where, self.kind = where, kind

    def before_run(self, experiment):
        if self.where == "before_run":
            _stop(self.kind)

    def on_replicate_end(self, experiment, record):
        if self.where == "on_replicate_end":
            _stop(self.kind)

    def on_event(self, experiment, ctx, event, payload):
        if self.where == "on_event":
            _stop(self.kind)

    def after_run(self, experiment, result):
        if self.where == "after_run":
            _stop(self.kind)


def _experiment(*plugins):
    return Experiment(
        datasource=numbers(), pipeline=Pipeline([total()]), replicates=2, name="exhausted",
        plugins=[*plugins, ArtifactPlugin(root_dir="data")],
    )


def _check(error, where, kind=StopIteration, records=2):
    assert type(error) is RuntimeError
    assert f"The plugin hook Exhausted.{where} raised {kind.__name__}" in str(error)
    assert "generator raised" not in str(error)
    assert type(error.__cause__) is kind
    notes = getattr(error, "__notes__", [])
    assert any(f"Raised by the plugin hook Exhausted.{where}" in note for note in notes), notes
    if where == "after_run":
        assert isinstance(error.result, Result)
        assert len(error.result.records) == records
    else:
        assert not hasattr(error, "result")


@pytest.mark.parametrize("where", HOOKS)
@pytest.mark.parametrize("execution", EXECUTIONS)
def test_a_hook_raising_stopiteration_stops_run_with_a_runtime_error_naming_it(execution, where):
    with pytest.raises(RuntimeError) as raised:
        _experiment(execution(), Exhausted(where)).run()
    _check(raised.value, where)


@pytest.mark.parametrize("where", HOOKS)
def test_stream_and_apply_raise_the_same(where):
    with pytest.raises(RuntimeError) as raised:
        for _ in _experiment(Exhausted(where)).stream():
            pass
    _check(raised.value, where)
    with pytest.raises(RuntimeError) as raised:
        _experiment(Exhausted(where)).apply()
    _check(raised.value, where, records=1)  # apply(): one replicate


@pytest.mark.parametrize("where", ["on_replicate_end", "after_run"])
def test_stop_async_iteration_too(where):
    with pytest.raises(RuntimeError) as raised:
        _experiment(Exhausted(where, StopAsyncIteration)).run()
    _check(raised.value, where, StopAsyncIteration)
    assert "no more pages" in str(raised.value)


def test_a_stopiteration_of_a_later_after_run_is_a_note_on_the_run_exception():
    class Broken(BasePlugin):
        def on_replicate_end(self, experiment, record):
            raise LookupError("first")

    with pytest.raises(LookupError) as raised:
        _experiment(Broken(), Exhausted("after_run")).run()
    assert any("Exhausted.after_run also raised StopIteration" in note for note in raised.value.__notes__)
