"""A user's exception that refuses notes (a frozen dataclass exception, one whose
``__notes__`` is not a list) is still the exception raised: crystallize's notes and
``contextlib``'s ``__traceback__`` bookkeeping never replace it; a note that cannot be
added is logged on the ``crystallize`` logger instead."""

from __future__ import annotations

import contextlib
import dataclasses
import logging

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
    resource_factory,
)
from crystallize.utils.user_exceptions import LetThrough, add_note_safely, contextmanager


@dataclasses.dataclass(frozen=True)
class QuotaExceeded(Exception):
    limit: int = 0

    def __str__(self):
        return f"quota of {self.limit} exceeded"


class TupleNotes(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.__notes__ = ("kept",)


def _raise(kind, limit):
    if kind == "frozen":
        raise QuotaExceeded(limit)
    raise TupleNotes(f"tuple notes {limit}")


KINDS = {"frozen": QuotaExceeded, "tuple_notes": TupleNotes}
EXECUTIONS = [
    pytest.param(SerialExecution, id="serial"),
    pytest.param(lambda: ParallelExecution(max_workers=2, executor_type="process"), id="process"),
    pytest.param(AsyncExecution, id="async"),
]


@data_source
def numbers(ctx):
    return [1, 2, 3]


@pipeline_step()
def uses_db(data, ctx):
    ctx["db"]
    return data, {"total": sum(data)}


@pipeline_step()
def fit(data, ctx, *, kind="frozen"):
    _raise(kind, 7)


def connect_frozen(ctx):
    raise QuotaExceeded(5)


def connect_tuple_notes(ctx):
    raise TupleNotes("tuple notes 5")


class Hook(BasePlugin):
    def __init__(self, where, kind):
        self.where, self.kind = where, kind

    def before_run(self, experiment):
        if self.where == "before_run":
            _raise(self.kind, 1)

    def on_replicate_end(self, experiment, record):
        if self.where == "on_replicate_end":
            _raise(self.kind, 2)

    def after_run(self, experiment, result):
        if self.where == "after_run":
            _raise(self.kind, 3)


def _experiment(*plugins, **kwargs):
    kwargs.setdefault("initial_ctx", {"db": 1})
    return Experiment(
        datasource=numbers(), pipeline=Pipeline([uses_db()]), replicates=2, name="quota",
        plugins=[*plugins, ArtifactPlugin(root_dir="data")], **kwargs,
    )


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("where", ["before_run", "on_replicate_end", "after_run"])
@pytest.mark.parametrize("execution", EXECUTIONS)
def test_a_hook_exception_refusing_notes_is_the_one_raised(execution, where, kind, caplog):
    with caplog.at_level(logging.WARNING, logger="crystallize"), pytest.raises(KINDS[kind]) as raised:
        _experiment(execution(), Hook(where, kind)).run()
    assert str(raised.value).endswith(f" {dict(before_run=1, on_replicate_end=2, after_run=3)[where]}" + (
        " exceeded" if kind == "frozen" else ""
    ))
    # the note it could not take is logged, naming the hook
    assert f"Could not add a note to the {KINDS[kind].__name__}" in caplog.text
    assert f"Hook.{where}" in caplog.text
    if kind == "tuple_notes":
        assert raised.value.__notes__ == ("kept",)


@pytest.mark.parametrize("where", ["before_run", "on_replicate_end", "after_run"])
def test_a_frozen_hook_exception_leaves_stream_and_apply_unchanged(where):
    with pytest.raises(QuotaExceeded):
        list(_experiment(Hook(where, "frozen")).stream())
    with pytest.raises(QuotaExceeded):
        _experiment(Hook(where, "frozen")).apply()


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("execution", EXECUTIONS)
def test_a_resource_factory_exception_refusing_notes_is_the_replicates_error(execution, kind):
    factory = connect_frozen if kind == "frozen" else connect_tuple_notes
    result = _experiment(execution(), initial_ctx={"db": resource_factory(factory)}).run()
    assert result.errors
    for error in result.errors:
        assert error.exception_type == KINDS[kind].__name__
        assert "quota of 5 exceeded" in str(error) or "tuple notes 5" in str(error)


@pytest.mark.parametrize("kind", list(KINDS))
def test_apply_raises_a_step_exception_refusing_notes_unchanged(kind):
    experiment = Experiment(datasource=numbers(), pipeline=Pipeline([fit(kind=kind)]), name="fit")
    with pytest.raises(KINDS[kind]) as raised:
        experiment.apply()
    assert "7" in str(raised.value)


def test_add_note_safely_adds_the_note_or_logs_it(caplog):
    plain = ValueError("x")
    assert add_note_safely(plain, "where it came from")
    assert plain.__notes__ == ["where it came from"]

    frozen = QuotaExceeded(1)
    with caplog.at_level(logging.WARNING, logger="crystallize"):
        assert not add_note_safely(frozen, "where it came from")
    assert "Could not add a note to the QuotaExceeded being raised" in caplog.text
    assert "where it came from" in caplog.text
    assert not hasattr(frozen, "__notes__")


def test_let_through_keeps_a_frozen_exception_and_the_generators_own_errors():
    @contextmanager
    def plain():
        yield "value"

    with pytest.raises(QuotaExceeded), plain() as value:
        assert value == "value"
        raise QuotaExceeded(1)

    @contextlib.contextmanager
    def broken_cleanup():
        try:
            yield
        finally:
            raise KeyError("cleanup failed")

    # an exception of the generator itself is raised as contextlib raises it
    with pytest.raises(KeyError), LetThrough(broken_cleanup()):
        raise QuotaExceeded(1)

    # an ordinary exception passes as before, with its traceback
    with pytest.raises(ValueError) as raised, plain():
        raise ValueError("plain")
    assert raised.value.__traceback__ is not None
