"""Options of ``crystallize run`` that would be silently ignored, and bad option values:
refused with one clear line (exit 2) naming what to change, never dropped or worded by
the option parser."""

from __future__ import annotations

import pytest
from cli_assertions import assert_one_line_user_error

from crystallize import (
    AsyncExecution,
    Experiment,
    SeedPlugin,
    SerialExecution,
    data_source,
    pipeline_step,
)
from crystallize.cli.errors import UserError
from crystallize.cli.overrides import (
    RunSettings,
    apply_settings,
    execution_plugin,
    parse_assignments,
)


@data_source
def source(ctx):
    return 1


@pipeline_step()
def bump(data, *, delta=0):
    return data + delta


def _experiment() -> Experiment:
    return Experiment(
        datasource=source(),
        pipeline=[bump()],
        plugins=[SeedPlugin(seed=3, auto_seed=False)],
        replicates=2,
        name="exp",
    )


# -- workers with the serial executor -------------------------------------------------
def test_workers_with_the_serial_executor_flag_is_refused():
    experiment = _experiment()
    with pytest.raises(UserError) as info:
        apply_settings([experiment], RunSettings(executor="serial", workers=2))
    message = str(info.value)
    assert "--workers is for parallel executors only" in message
    assert "the serial executor (--executor serial)" in message
    assert "would ignore it" in message
    assert "Leave out --workers, or use a parallel executor: --executor process" in message
    assert isinstance(experiment.execution_plugin, SerialExecution)  # nothing was changed


def test_workers_with_a_serial_strategy_set_is_refused_in_the_set_keys_words():
    settings = RunSettings(parse_assignments(["plugins.execution.strategy=serial", "plugins.execution.workers=4"]))
    with pytest.raises(UserError) as info:
        apply_settings([_experiment()], settings)
    message = str(info.value)
    assert message.startswith("--set plugins.execution.workers is for parallel executors only")
    assert "the serial executor (--set plugins.execution.strategy=serial)" in message
    assert "--set plugins.execution.strategy=process" in message
    assert "--workers" not in message and "--executor" not in message


def test_workers_flag_with_a_serial_strategy_set_names_both():
    settings = RunSettings(parse_assignments(["plugins.execution.strategy=serial"]), workers=4)
    with pytest.raises(UserError) as info:
        apply_settings([_experiment()], settings)
    message = str(info.value)
    assert message.startswith("--workers is for parallel executors only")
    assert "(--set plugins.execution.strategy=serial)" in message


def test_workers_flag_with_serial_executor_flag_wins_over_a_parallel_set():
    """The flag wins over --set: --executor serial with --set workers is serial + workers."""
    settings = RunSettings(parse_assignments(["plugins.execution.workers=3"]), executor="serial")
    with pytest.raises(UserError, match=r"--set plugins\.execution\.workers is for parallel executors only"):
        apply_settings([_experiment()], settings)


def test_workers_still_work_where_they_are_used():
    experiment = _experiment()
    apply_settings([experiment], RunSettings(executor="async", workers=3))  # async uses them: concurrency
    plugin = experiment.execution_plugin
    assert isinstance(plugin, AsyncExecution) and plugin.max_concurrency == 3
    experiment = _experiment()
    apply_settings([experiment], RunSettings(workers=2))  # alone: a serial experiment uses processes
    assert (experiment.execution_plugin.executor_type, experiment.execution_plugin.max_workers) == ("process", 2)
    experiment = _experiment()
    apply_settings([experiment], RunSettings(parse_assignments(["plugins.execution.workers=2"])))
    assert experiment.execution_plugin.executor_type == "process"
    assert isinstance(execution_plugin(_experiment(), "serial"), SerialExecution)


def test_address_with_another_executor_names_how_it_was_given():
    with pytest.raises(UserError, match=r"^--address is for the Ray executor only \(got executor 'thread'\)\.$"):
        execution_plugin(_experiment(), "thread", address="x:1")
    settings = RunSettings(parse_assignments(["plugins.execution.strategy=thread", "plugins.execution.address=auto"]))
    with pytest.raises(UserError) as info:
        apply_settings([_experiment()], settings)
    assert str(info.value) == (
        "--set plugins.execution.address is for the Ray executor only "
        "(got executor 'thread' from --set plugins.execution.strategy)."
    )


def test_workers_with_serial_fail_on_the_command_line(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    proc = cli("run", "numbers", "-w", "2", "--executor", "serial")
    assert_one_line_user_error(proc, "--workers is for parallel executors only", "the serial executor (--executor serial)")
    proc = cli("run", "numbers", "-s", "plugins.execution.strategy=serial", "-s", "plugins.execution.workers=4")
    assert_one_line_user_error(
        proc, "--set plugins.execution.workers is for parallel executors only", "(--set plugins.execution.strategy=serial)"
    )
    assert not (tmp_path / "data").exists()  # nothing ran


# -- --strategy and --executor values ---------------------------------------------------
@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--strategy", "resme"), ("--strategy: unknown strategy 'resme'. Did you mean 'resume'?", "Use one of: rerun, resume.")),
        (("--strategy", "sometimes"), ("--strategy: unknown strategy 'sometimes'. Use one of: rerun, resume.",)),
        (("--executor", "foo"), ("--executor: unknown executor 'foo'. Use one of: serial, thread, process, async, ray.",)),
        (("--executor", "proces"), ("--executor: unknown executor 'proces'. Did you mean 'process'?",)),
        (("--executor", "Process"), ("--executor: unknown executor 'Process'. Did you mean 'process'?",)),
    ],
)
def test_bad_choices_are_one_clean_line_with_a_suggestion(cli, make_experiment, args, fragments):
    make_experiment("numbers")
    proc = cli("run", "numbers", *args)
    assert_one_line_user_error(proc, *fragments)
    assert "Value error" not in proc.stderr and "is not one of" not in proc.stderr
    assert "Usage:" not in proc.stderr


def test_bad_choices_are_refused_before_the_experiment_is_looked_up(cli):
    proc = cli("run", "no_such_experiment", "--executor", "proces")
    assert_one_line_user_error(proc, "unknown executor 'proces'. Did you mean 'process'?")


def test_executor_flag_and_set_key_say_the_same(cli, make_experiment):
    make_experiment("numbers")
    flag = cli("run", "numbers", "--executor", "proces").stderr
    key = cli("run", "numbers", "-s", "plugins.execution.strategy=proces").stderr
    assert flag.removeprefix("Error: --executor: ") == key.removeprefix("Error: --set plugins.execution.strategy: ")


def test_help_still_lists_the_choices(cli):
    proc = cli("run", "--help")
    assert proc.returncode == 0
    assert "<rerun|resume>" in proc.stdout
    assert "<serial|thread|process|async|ray>" in proc.stdout


def test_good_choices_still_run(cli, make_experiment):
    make_experiment("numbers", replicates=2)
    first = cli("run", "numbers", "--executor", "thread", "-w", "2", "--strategy", "rerun")
    assert first.returncode == 0, first.stderr
    again = cli("run", "numbers", "--strategy", "resume", "--executor", "serial")
    assert again.returncode == 0, again.stderr
    assert "0 computed" in again.stdout


# -- empty treatment pipelines ----------------------------------------------------------
def test_a_treatment_with_an_empty_pipeline_is_refused_by_run(cli, make_experiment):
    make_experiment(
        "numbers",
        config="""
        name: numbers
        datasource: numbers
        steps: [add_delta, total]
        treatments:
          shifted: {delta: 3.0}
          nothing: {pipeline: []}
        """,
    )
    proc = cli("run", "numbers")
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "treatments.nothing.pipeline: treatment 'nothing' has an empty pipeline" in proc.stderr
    assert "nothing to run or measure" in proc.stderr
    assert "Traceback" not in proc.stderr
