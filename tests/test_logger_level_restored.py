"""The ``crystallize`` logger is the user's: the LoggingPlugin sets its level only while
a run is in flight, and gives back what the user had when the last run ends."""

import logging
import threading

import pytest

from crystallize import Experiment, LoggingPlugin, Pipeline, data_source, pipeline_step
from crystallize.exceptions import RunFailedError

LOGGER = logging.getLogger("crystallize")
TIMEOUT = 30


@data_source
def one(ctx):
    return 1


@pipeline_step()
def note_level(data, ctx):
    """Record the logger's level as the run sees it."""
    return data, {"level": LOGGER.level}


@pipeline_step()
def broken(data, ctx):
    raise KeyError("gone")


class Spy(logging.Handler):
    """Keeps every record the ``crystallize`` logger lets through."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def messages(self):
        return [record.getMessage() for record in self.records]


@pytest.fixture
def spy():
    """A spy handler on the logger; the logger's level and handlers are restored after."""
    level, handlers = LOGGER.level, list(LOGGER.handlers)
    handler = Spy()
    LOGGER.addHandler(handler)
    yield handler
    LOGGER.handlers[:] = handlers
    LOGGER.setLevel(level)


def _experiment(*steps, plugin=None, name="lvl"):
    plugins = [plugin] if plugin is not None else []
    return Experiment(datasource=one(), pipeline=Pipeline(list(steps or [note_level()])), plugins=plugins, name=name)


def _level_in_run(result):
    return result.metrics.baseline.metrics["level"][0]


@pytest.mark.parametrize("users_level", [logging.NOTSET, logging.WARNING, logging.DEBUG])
@pytest.mark.parametrize("plugin", [None, LoggingPlugin(log_level="DEBUG"), LoggingPlugin(verbose=True)])
def test_building_an_experiment_leaves_the_logger_alone(spy, users_level, plugin):
    LOGGER.setLevel(users_level)
    handlers = list(LOGGER.handlers)
    _experiment(plugin=plugin)
    assert LOGGER.level == users_level and LOGGER.handlers == handlers


def test_a_level_the_user_set_silences_the_default_plugins_lines(spy):
    LOGGER.setLevel(logging.WARNING)
    result = _experiment().run()
    assert _level_in_run(result) == logging.WARNING
    assert spy.messages() == []
    assert LOGGER.level == logging.WARNING


def test_debug_set_by_the_user_holds_during_and_after_runs(spy):
    LOGGER.setLevel(logging.DEBUG)
    result = _experiment().run()
    _experiment(name="second")  # used to reset the level to INFO
    assert _level_in_run(result) == logging.DEBUG
    assert LOGGER.level == logging.DEBUG


def test_with_nothing_configured_a_run_logs_at_info_and_leaves_no_level(spy):
    LOGGER.setLevel(logging.NOTSET)
    result = _experiment().run()
    assert _level_in_run(result) == logging.INFO
    messages = spy.messages()
    assert messages[0] == "Running experiment 'lvl': 1 replicate(s) x 1 condition(s)"
    assert messages[-1].startswith("Experiment 'lvl' finished in ")
    assert LOGGER.level == logging.NOTSET


def test_a_level_the_plugin_asks_for_holds_for_the_run_only(spy):
    LOGGER.setLevel(logging.WARNING)
    result = _experiment(plugin=LoggingPlugin(log_level="DEBUG")).run()
    assert _level_in_run(result) == logging.DEBUG
    assert any(m.startswith("Running experiment 'lvl'") for m in spy.messages())
    assert LOGGER.level == logging.WARNING


def test_a_run_that_raises_gives_the_level_back(spy):
    LOGGER.setLevel(logging.ERROR)
    experiment = _experiment(broken(), plugin=LoggingPlugin(log_level="INFO"))
    with pytest.raises(RunFailedError):
        experiment.run(fail_fast=True)
    assert LOGGER.level == logging.ERROR


def test_the_logger_at_debug_shows_a_failures_traceback(spy):
    LOGGER.setLevel(logging.DEBUG)
    _experiment(broken()).run()
    (failure,) = [m for m in spy.messages() if m.startswith("Replicate failed")]
    assert "Traceback" in failure and "KeyError: 'gone'" in failure


def test_caplog_set_before_the_experiment_is_built_holds(caplog):
    caplog.set_level(logging.WARNING, logger="crystallize")
    _experiment().run()
    assert [r.getMessage() for r in caplog.records if r.name == "crystallize"] == []
    assert LOGGER.level == logging.WARNING


@pytest.mark.filterwarnings("ignore:Experiment .* ran while another run:RuntimeWarning")
def test_the_level_comes_back_when_the_last_overlapping_run_ends(spy):
    LOGGER.setLevel(logging.WARNING)
    first_started, second_started, first_done = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    @pipeline_step()
    def first_step(data, ctx):
        first_started.set()
        assert second_started.wait(TIMEOUT)
        return data

    @pipeline_step()
    def second_step(data, ctx):
        second_started.set()
        assert first_done.wait(TIMEOUT)
        seen["after first"] = LOGGER.level  # the first run is over, this one is not
        return data

    def run_first():
        try:
            _experiment(first_step(), plugin=LoggingPlugin(log_level="DEBUG"), name="FIRST").run()
        finally:
            first_done.set()

    thread = threading.Thread(target=run_first)
    thread.start()
    assert first_started.wait(TIMEOUT)
    _experiment(second_step(), plugin=LoggingPlugin(log_level="INFO"), name="SECOND").run()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert seen["after first"] == logging.INFO
    assert LOGGER.level == logging.WARNING
