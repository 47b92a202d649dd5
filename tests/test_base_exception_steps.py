"""A step (datasource, treatment function, resource factory, worker hook) raising a
BaseException that is not an Exception — GeneratorExit, gevent's GreenletExit, pytest's
Failed — fails its condition × replicate, as ``sys.exit()`` does, under every executor;
only KeyboardInterrupt cancels the run. A GeneratorExit that ``close()`` throws into the
replicate's generator (or coroutine) still closes it."""

from __future__ import annotations

import asyncio
import os
import sys
import warnings

import pytest
import typer

from crystallize import (
    AsyncExecution,
    BasePlugin,
    Experiment,
    ParallelExecution,
    Pipeline,
    SerialExecution,
    Treatment,
    data_source,
    pipeline_step,
    resource_factory,
    treatment,
)
from crystallize.cli.errors import EXIT_FAILED, handle_errors
from crystallize.replicate import (
    ReplicateRunner,
    _is_step_failure,
    baseline_condition,
    cancels_replicate,
)
from crystallize.store import list_runs, load_result


class Abort(BaseException):
    """Like gevent's GreenletExit or pytest's Failed: a BaseException, not an Exception."""


def _raise(kind: str) -> None:
    if kind == "genexit":
        raise GeneratorExit("closing")
    raise Abort("custom base exception")


@data_source
def numbers(ctx, where: str = "", kind: str = "genexit"):
    if where == "datasource" and ctx["replicate"] == 1:
        _raise(kind)
    return ctx["replicate"]


@pipeline_step()
def step(data, ctx, *, where: str = "step", kind: str = "genexit"):
    if where == "resource" and ctx["replicate"] == 1:
        ctx["res"]
    if where == "step" and data == 1:
        _raise(kind)
    return data, {"value": data}


@pipeline_step()
async def async_step(data, ctx, *, kind: str = "genexit"):
    await asyncio.sleep(0)
    if data == 1:
        _raise(kind)
    return data, {"value": data}


def _make_resource(ctx):
    raise GeneratorExit("factory closing")


class Hooks(BasePlugin):
    def __init__(self, where: str = "") -> None:
        self.where = where

    def before_replicate(self, experiment, ctx):
        if self.where == "before_replicate" and ctx["replicate"] == 1:
            raise GeneratorExit("hook closing")

    def after_step(self, experiment, step, data, ctx):
        if self.where == "after_step" and ctx["replicate"] == 1:
            raise Abort("hook abort")


def _treat(ctx):
    if ctx["replicate"] == 1 and os.environ.get("CRYSTALLIZE_TEST_WHERE") == "treatment":
        raise GeneratorExit("treatment closing")
    ctx.add("x", 1)


def _run(execution, pipeline, *, where="", kind="genexit", conditions=1, plugins=(), **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # thread execution and shared RNGs
        experiment = Experiment(
            datasource=numbers(where=where, kind=kind),
            pipeline=Pipeline(pipeline),
            plugins=[execution, *plugins],
            replicates=3,
            treatments=[treatment("t", {"x": 1})] if conditions == 2 else [],
            **kwargs,
        )
        return experiment.run()


EXECUTORS = {
    "serial": SerialExecution,
    "thread": lambda: ParallelExecution(max_workers=2, executor_type="thread"),
    "process": lambda: ParallelExecution(max_workers=2, executor_type="process"),
    "async": AsyncExecution,
}


@pytest.mark.parametrize("kind", ["genexit", "custom"])
@pytest.mark.parametrize("executor", sorted(EXECUTORS))
def test_a_step_raising_a_base_exception_fails_only_its_replicate(executor, kind):
    result = _run(EXECUTORS[executor](), [step(kind=kind)], kind=kind, conditions=2)
    expected = "GeneratorExit" if kind == "genexit" else "Abort"
    assert result.metrics.baseline.metrics["value"] == [0, 2]
    assert result.metrics.treatments["t"].metrics["value"] == [0, 2]
    assert sorted((e.condition, e.replicate, e.step, e.exception_type) for e in result.errors) == [
        ("baseline", 1, "step", expected), ("t", 1, "step", expected),
    ]
    assert "closing" in result.errors[0].message or "custom base exception" in result.errors[0].message
    assert result.errors[0].traceback and "_raise" in result.errors[0].traceback
    [run] = list_runs("data")
    assert run.status == "completed"
    assert len(load_result(run.run_id, "data").errors) == 2


@pytest.mark.parametrize("kind", ["genexit", "custom"])
@pytest.mark.parametrize("executor", ["serial", "async"])
def test_an_async_step_raising_a_base_exception_fails_only_its_replicate(executor, kind):
    result = _run(EXECUTORS[executor](), [async_step(kind=kind)], kind=kind)
    assert result.metrics.baseline.metrics["value"] == [0, 2]
    assert [(e.replicate, e.exception_type) for e in result.errors] == [
        (1, "GeneratorExit" if kind == "genexit" else "Abort")
    ]


@pytest.mark.parametrize("where", ["datasource", "resource", "before_replicate", "after_step", "treatment"])
def test_other_user_code_raising_a_base_exception_fails_only_its_replicate(where, monkeypatch):
    monkeypatch.setenv("CRYSTALLIZE_TEST_WHERE", where)
    experiment = Experiment(
        datasource=numbers(where=where),
        pipeline=Pipeline([step(where=where)]),
        plugins=[SerialExecution(), Hooks(where)],
        initial_ctx={"res": resource_factory(_make_resource)},
        treatments=[Treatment("t", _treat)] if where == "treatment" else [],
        replicates=3,
    )
    result = experiment.run()
    assert [e.replicate for e in result.errors] == [1]
    assert result.errors[0].exception_type in ("GeneratorExit", "Abort")
    assert list_runs("data")[0].status == "completed"


def test_keyboard_interrupt_still_cancels_the_run():
    @pipeline_step()
    def interrupts(data, ctx):
        if data == 1:
            raise KeyboardInterrupt
        return data, {"value": data}

    with pytest.raises(KeyboardInterrupt):
        _run(SerialExecution(), [interrupts()])
    assert list_runs("data")[0].status == "cancelled"


# -- close() is not a failure -------------------------------------------------------------
@pipeline_step()
async def waits(data, ctx):
    await asyncio.sleep(0)
    return data, {"value": data}


def _runner() -> ReplicateRunner:
    experiment = Experiment(datasource=numbers(), pipeline=Pipeline([waits()]), replicates=1)
    return ReplicateRunner(experiment, [baseline_condition()], [0])


def test_closing_the_replicate_generator_at_an_await_records_nothing():
    outcome: list = []
    gen = _runner()._conditions("baseline", None, 0, outcome)
    awaitable = gen.send(None)  # suspended on the step's coroutine
    awaitable.close()
    gen.close()  # a stopping run: GeneratorExit thrown in at the yield
    assert outcome == []


def test_closing_the_async_driver_at_an_await_records_nothing(monkeypatch):
    import crystallize.replicate as replicate_module

    recorded: list = []
    monkeypatch.setattr(replicate_module, "ReplicateRecord", lambda *args: recorded.append(args))
    coro = _runner().arun_condition("baseline", None, 0)
    coro.send(None)  # suspended inside the step's asyncio.sleep(0)
    coro.close()  # must end it, not hand GeneratorExit to the replicate as its failure
    assert recorded == []


def test_a_thrown_in_generator_exit_is_no_step_failure_but_a_raised_one_is():
    caught: list[BaseException] = []

    def suspended():
        try:
            yield
        except BaseException as exc:
            caught.append(exc)
            raise

    gen = suspended()
    next(gen)
    gen.close()
    assert not _is_step_failure(caught[0]) and cancels_replicate(caught[0])

    def raises():
        raise GeneratorExit("from a call")

    try:
        raises()
    except BaseException as exc:  # noqa: BLE001 - classified below
        assert _is_step_failure(exc) and not cancels_replicate(exc)
    for exc in (Abort("x"), SystemExit(2), ValueError("v")):
        assert _is_step_failure(exc)
    assert not _is_step_failure(KeyboardInterrupt())


# -- the command ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raised", "name"), [(GeneratorExit("gen closed"), "GeneratorExit"), (Abort("custom"), "Abort")]
)
def test_the_command_reports_an_unexpected_base_exception_in_one_line(raised, name, capsys, monkeypatch):
    monkeypatch.delenv("CRYSTALLIZE_DEBUG", raising=False)

    @handle_errors
    def command():
        raise raised

    with pytest.raises(typer.Exit) as exit_info:
        command()
    assert exit_info.value.exit_code == EXIT_FAILED
    err = capsys.readouterr().err
    assert err.startswith(f"Error: unexpected {name}: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_the_command_still_lets_system_exit_through():
    @handle_errors
    def command():
        sys.exit(3)

    with pytest.raises(SystemExit):
        command()
