import logging

import pytest

from crystallize import Experiment, LoggingPlugin, Pipeline, data_source, pipeline_step


@data_source
def one(ctx):
    return 1


@pipeline_step()
def first(data, ctx):
    return data


@pipeline_step()
def broken(data, ctx):
    raise KeyError("gone")


def test_verbose_logs_every_step_with_timing(caplog):
    caplog.set_level(logging.INFO, logger="crystallize")
    Experiment(datasource=one(), pipeline=Pipeline([first()]), plugins=[LoggingPlugin(verbose=True)], replicates=2).run()
    step_lines = [r.getMessage() for r in caplog.records if "step first took" in r.getMessage()]
    assert len(step_lines) == 2 and all(" ms" in line for line in step_lines)


def test_quiet_mode_logs_no_steps_but_logs_failures(caplog):
    caplog.set_level(logging.INFO, logger="crystallize")
    Experiment(datasource=one(), pipeline=Pipeline([broken()]), replicates=1).run()
    messages = [r.getMessage() for r in caplog.records]
    assert not any("took" in m for m in messages)
    assert any("broken" in m and "gone" in m for m in messages if "failed" in m)


def test_log_level_applies_to_crystallize_logger():
    Experiment(datasource=one(), pipeline=Pipeline([first()]), plugins=[LoggingPlugin(log_level="DEBUG")])
    assert logging.getLogger("crystallize").level == logging.DEBUG
    with pytest.raises(ValueError, match="log_level"):
        LoggingPlugin(log_level="LOUD")


def test_each_run_uses_its_own_experiments_level():
    quiet = Experiment(datasource=one(), pipeline=Pipeline([first()]), plugins=[LoggingPlugin(log_level="WARNING")])
    Experiment(datasource=one(), pipeline=Pipeline([first()]))  # built later, default INFO
    seen = []

    class Spy(logging.Handler):
        def emit(self, record):
            seen.append(record.levelno)

    spy = Spy(level=logging.DEBUG)
    logging.getLogger("crystallize").addHandler(spy)
    try:
        quiet.run()
    finally:
        logging.getLogger("crystallize").removeHandler(spy)
    assert seen == [] and logging.getLogger("crystallize").level == logging.WARNING


def test_the_verbose_stderr_handler_lasts_one_run(monkeypatch):
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as in a plain script
    crystallize_logger = logging.getLogger("crystallize")
    monkeypatch.setattr(crystallize_logger, "handlers", [])
    Experiment(datasource=one(), pipeline=Pipeline([first()]), plugins=[LoggingPlugin(verbose=True)]).run()
    assert crystallize_logger.handlers == []  # a later quiet experiment prints nothing extra
