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
