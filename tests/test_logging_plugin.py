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


@pipeline_step()
def note_level(data, ctx):
    return data, {"level": logging.getLogger("crystallize").level}


def test_log_level_applies_to_crystallize_logger_while_the_run_is_in_flight():
    before = logging.getLogger("crystallize").level
    experiment = Experiment(datasource=one(), pipeline=Pipeline([note_level()]), plugins=[LoggingPlugin(log_level="DEBUG")])
    assert logging.getLogger("crystallize").level == before
    assert experiment.run().metrics.baseline.metrics["level"] == [logging.DEBUG]
    assert logging.getLogger("crystallize").level == before
    with pytest.raises(ValueError, match="log_level"):
        LoggingPlugin(log_level="LOUD")


def test_each_run_uses_its_own_experiments_level():
    before = logging.getLogger("crystallize").level
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
    assert seen == [] and logging.getLogger("crystallize").level == before


def test_the_verbose_stderr_handler_lasts_one_run(monkeypatch):
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as in a plain script
    crystallize_logger = logging.getLogger("crystallize")
    monkeypatch.setattr(crystallize_logger, "handlers", [])
    Experiment(datasource=one(), pipeline=Pipeline([first()]), plugins=[LoggingPlugin(verbose=True)]).run()
    assert crystallize_logger.handlers == []  # a later quiet experiment prints nothing extra


VERBOSE_PROCESS_RUN = '''
from crystallize import Experiment, LoggingPlugin, ParallelExecution, Pipeline, SeedPlugin, data_source, pipeline_step

@data_source
def my_source(ctx):
    return 1

@pipeline_step()
def step_two(data, ctx):
    return data, {"total": data}

if __name__ == "__main__":
    experiment = Experiment(
        datasource=my_source(),
        pipeline=Pipeline([step_two()]),
        plugins=[
            SeedPlugin(seed=1234, auto_seed=True),
            ParallelExecution(max_workers=2, executor_type="process"),
            LoggingPlugin(verbose=True, log_level="DEBUG"),
        ],
    )
    print(experiment.run(replicates=3).metrics.baseline.metrics["total"])
'''


def test_a_verbose_run_under_process_execution_works_without_logging_set_up(tmp_path):
    """The seed page's first example: with nothing configuring logging, the verbose run adds
    its stderr handler, and the plugin still pickles for the worker processes."""
    import subprocess
    import sys

    script = tmp_path / "verbose_process.py"
    script.write_text(VERBOSE_PROCESS_RUN)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1, 1, 1]"
    assert "replicate done" in done.stderr  # the handler did its job


def test_apply_and_debug_log_the_one_condition_they_run(caplog, tmp_path, monkeypatch):
    from crystallize import treatment

    monkeypatch.chdir(tmp_path)
    experiment = Experiment(
        datasource=one(),
        pipeline=Pipeline([first()]),
        treatments=[treatment("more", {"unused": 1})],
        replicates=3,
    )
    with caplog.at_level(logging.INFO, logger="crystallize"):
        experiment.apply(treatment="more")
        experiment.debug(replicate=2)
        experiment.run()
    starts = [r.getMessage() for r in caplog.records if "experiment 'experiment'" in r.getMessage() and " in " not in r.getMessage()]
    assert starts == [
        "Applying experiment 'experiment': condition 'more', replicate 0",
        "Debugging experiment 'experiment': condition 'baseline', replicate 2",
        "Running experiment 'experiment': 3 replicate(s) x 2 condition(s)",
    ]
