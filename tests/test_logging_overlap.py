"""LoggingPlugin with two runs in flight at once in one process (two threads)."""

import io
import logging
import sys
import threading

import pytest

from crystallize import Experiment, LoggingPlugin, Pipeline, data_source, pipeline_step

# The overlap is the point here; the warning about it is tested elsewhere.
pytestmark = pytest.mark.filterwarnings("ignore:Experiment .* ran while another run:RuntimeWarning")
TIMEOUT = 30
EVENTS: dict[str, threading.Event] = {}


@data_source
def zero(ctx):
    return 0


@pipeline_step()
def handshake(data, ctx, set_event="", wait_event=""):
    """Set one event and wait for another: orders the two runs without sleeping."""
    if set_event:
        EVENTS[set_event].set()
    if wait_event:
        assert EVENTS[wait_event].wait(TIMEOUT)
    return data, {"m": 1}


def _experiment(name, replicates, plugin, **handshake_args):
    return Experiment(
        datasource=zero(),
        pipeline=Pipeline([handshake(**handshake_args)]),
        plugins=[plugin],
        replicates=replicates,
        name=name,
    )


def _overlap(build_first, build_second):
    """Run FIRST in a thread; SECOND starts while FIRST runs and ends after it.

    FIRST's replicates wait until SECOND has started; SECOND's wait until FIRST is over.
    The experiments are built by the callables, SECOND's while FIRST is running."""
    EVENTS.clear()
    EVENTS.update(second_started=threading.Event(), first_done=threading.Event(), first_started=threading.Event())
    first = build_first(set_event="first_started", wait_event="second_started")

    def run_first():
        try:
            first.run()
        finally:
            EVENTS["first_done"].set()

    thread = threading.Thread(target=run_first)
    thread.start()
    assert EVENTS["first_started"].wait(TIMEOUT)
    second = build_second(set_event="second_started", wait_event="first_done")
    second.run()
    thread.join(TIMEOUT)
    assert not thread.is_alive()


def _no_logging_set_up(monkeypatch, tmp_path):
    """As in a plain script: nothing handles the loggers. Returns the buffer that stands
    for stderr. (Called in the test itself: pytest adds its handlers after fixtures.)"""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    monkeypatch.setattr(logging.getLogger("crystallize"), "handlers", [])
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    return stderr


def test_the_second_verbose_run_keeps_printing_after_the_first_ends(monkeypatch, tmp_path):
    stderr = _no_logging_set_up(monkeypatch, tmp_path)
    _overlap(
        lambda **kw: _experiment("FIRST", 2, LoggingPlugin(verbose=True), **kw),
        lambda **kw: _experiment("SECOND", 4, LoggingPlugin(verbose=True), **kw),
    )
    printed = stderr.getvalue()
    assert "Experiment 'FIRST' finished" in printed
    assert printed.count("replicate done") == 6
    assert "Experiment 'SECOND' finished" in printed
    assert logging.getLogger("crystallize").handlers == []  # gone with the last run


def test_lines_printed_while_runs_overlap_name_their_experiment(monkeypatch, tmp_path):
    stderr = _no_logging_set_up(monkeypatch, tmp_path)
    _overlap(
        lambda **kw: _experiment("FIRST", 2, LoggingPlugin(verbose=True), **kw),
        lambda **kw: _experiment("SECOND", 2, LoggingPlugin(verbose=True), **kw),
    )
    lines = stderr.getvalue().splitlines()
    first_steps = [line for line in lines if "step handshake took" in line and " FIRST: " in line]
    assert len(first_steps) == 2  # FIRST's replicates end while SECOND runs
    alone = [line for line in lines if "Experiment 'SECOND' finished" in line]
    assert alone and " SECOND: " not in alone[0]  # alone again: the usual format


class _Spy(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.seen: list[tuple[str, str]] = []

    def emit(self, record):
        self.seen.append((getattr(record, "experiment", "?"), record.getMessage()))


@pytest.mark.parametrize(("first_level", "second_level"), [("INFO", "WARNING"), ("WARNING", "INFO")])
def test_each_run_keeps_its_own_level_while_runs_overlap(tmp_path, monkeypatch, first_level, second_level):
    monkeypatch.chdir(tmp_path)
    spy = _Spy()
    crystallize_logger = logging.getLogger("crystallize")
    crystallize_logger.addHandler(spy)
    try:
        _overlap(
            lambda **kw: _experiment("FIRST", 2, LoggingPlugin(log_level=first_level), **kw),
            lambda **kw: _experiment("SECOND", 2, LoggingPlugin(log_level=second_level), **kw),
        )
    finally:
        crystallize_logger.removeHandler(spy)
    finished = [message for _, message in spy.seen if " finished in " in message]
    expected = "FIRST" if first_level == "INFO" else "SECOND"
    assert len(finished) == 1 and f"Experiment '{expected}' finished" in finished[0]
    assert {name for name, message in spy.seen if "Experiment '" in message} == {expected}
