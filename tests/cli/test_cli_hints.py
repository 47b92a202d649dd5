"""What the commands say next: the tracebacks hint after a run with failures, the exact
command resuming an interrupted run, one message for an experiment that never ran, and
help without stray type labels or line breaks."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time

import pytest
from cli_support import crystallize_command

from crystallize.cli.run import resume_hint
from crystallize.store import list_runs


def test_run_with_failures_points_to_the_tracebacks(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    proc = cli("run", "numbers", "--set", "fail_on=0")
    assert proc.returncode == 1
    (run,) = list_runs(tmp_path / "data")
    hint = f"See their tracebacks with: crystallize show numbers --run {run.run_id} --tracebacks"
    assert hint in proc.stderr
    assert hint in cli("show", "numbers", "--no-chart").stdout  # the same hint as show's


def test_hints_carry_the_store_moved_by_set(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    proc = cli("run", "numbers", "--set", "fail_on=0", "--set", "plugins.artifacts.root_dir=elsewhere")
    assert proc.returncode == 1
    (run,) = list_runs(tmp_path / "elsewhere")
    hint = f"See their tracebacks with: crystallize show numbers --run {run.run_id} --tracebacks --root elsewhere"
    assert hint in proc.stderr
    shown = cli(*shlex.split(hint.split(": ", 1)[1])[1:], "--no-chart")  # the hint as printed finds the run
    assert shown.returncode == 0 and "ValueError: replicate chosen to fail" in shown.stdout
    summary = cli("show", "numbers", "--run", run.run_id, "--root", "elsewhere", "--no-chart")
    assert hint in summary.stdout  # show's own hint keeps the --root it was given
    unsaid = cli("delete", "numbers", "--root", "elsewhere")  # which runs? the listing hint finds them
    assert unsaid.returncode == 2 and "see them with: crystallize runs numbers --root elsewhere" in unsaid.stderr
    plain = cli("run", "numbers", "--set", "fail_on=0")  # the store config.yaml declares: no --root
    [line] = [line for line in plain.stderr.splitlines() if line.startswith("See their tracebacks")]
    assert line.endswith("--tracebacks")


def test_the_interrupt_hint_names_a_moved_store(tmp_path, monkeypatch):
    from crystallize import ArtifactPlugin, Experiment
    from crystallize.cli.run import history_hint

    monkeypatch.chdir(tmp_path)
    moved = Experiment(name="numbers", plugins=[ArtifactPlugin(root_dir="elsewhere")])
    assert history_hint("runs", moved, "numbers") == "crystallize runs numbers --root elsewhere"
    assert history_hint("runs", Experiment(name="numbers"), "numbers") == "crystallize runs numbers"


def test_resume_hint_is_the_exact_command():
    options = [("-n", 5), ("-t", "with space"), ("--set", "label='x y'"), ("--seed", 0), ("--workers", None), ("--no-cache", True)]
    hint = resume_hint("my exp", options)
    assert hint == (
        "crystallize run 'my exp' --strategy resume -n 5 -t 'with space' --set 'label='\"'\"'x y'\"'\"'' --seed 0 --no-cache"
    )
    assert shlex.split(hint)[2:] == [
        "my exp", "--strategy", "resume", "-n", "5", "-t", "with space", "--set", "label='x y'", "--seed", "0", "--no-cache",
    ]
    assert resume_hint("numbers", []) == "crystallize run numbers --strategy resume"


SLOW_STEPS = '''
import time

from crystallize import pipeline_step


@pipeline_step(cacheable=True)
def add_delta(data, *, delta=0.0):
    return [x + delta for x in data]


@pipeline_step()
def total(data, ctx, *, fail_on=-1, pause=0.0):
    time.sleep(pause)
    return data, {"total": sum(data)}
'''


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_the_interrupt_message_gives_a_command_that_finishes_the_run(cli, make_experiment, tmp_path):
    make_experiment("numbers", replicates=20, steps=SLOW_STEPS)
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1", "CRYSTALLIZE_DEBUG": "", "PYTHONUNBUFFERED": "1"}
    args = ["run", "numbers", "-t", "shifted", "--set", "pause=0.5", "-n", "10", "--seed", "7"]
    proc = subprocess.Popen(
        [*crystallize_command(), *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )
    time.sleep(3)  # started, some replicates done
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    command = err.split("Finish it with: ", 1)[1].strip()
    assert command == "crystallize run numbers --strategy resume -n 10 -t shifted --set pause=0.5 --seed 7"
    (cancelled,) = list_runs(tmp_path / "data")
    assert cancelled.status == "cancelled"

    done = cli(*shlex.split(command)[1:], "--json")  # the command as printed finishes that run
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["run_id"] == cancelled.run_id and result["info"]["resumed"] == cancelled.n_records


NEVER_RAN = "no runs of 'fresh' yet (looked in data). Run it with: crystallize run fresh"


@pytest.mark.parametrize("other_runs", [False, True])
def test_an_experiment_that_never_ran_gets_one_message(cli, make_experiment, other_runs):
    make_experiment("fresh")
    if other_runs:  # the store exists, with runs of another experiment
        make_experiment("numbers")
        assert cli("run", "numbers").returncode == 0
    runs = cli("runs", "fresh")
    assert (runs.returncode, runs.stdout.strip()) == (0, NEVER_RAN[0].upper() + NEVER_RAN[1:])
    for command in (("show", "fresh"), ("report", "fresh")):
        proc = cli(*command)
        assert (proc.returncode, proc.stderr.strip()) == (2, f"Error: {NEVER_RAN}"), command
    delete = cli("delete", "fresh", "--keep", "0", "-y")
    assert (delete.returncode, delete.stderr) == (0, "")
    assert delete.stdout.strip() == f"Nothing to delete: {NEVER_RAN.split('. Run')[0]}."


@pytest.mark.parametrize("command", [(), ("run",), ("runs",), ("report",), ("diff",), ("delete",), ("show",)])
def test_help_has_no_type_label_on_flags_and_no_broken_lines(cli, command):
    proc = cli(*command, "--help", env={"COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert "<bool>" not in proc.stdout
    lines = [line.strip() for line in proc.stdout.splitlines()]
    assert not any(line.startswith("or with --force") for line in lines)  # report's description is one line
    if command == ("report",):
        assert any(line.endswith("earlier Crystallize report, or with --force.") for line in lines)
