"""The command in scripts and CI: ``FORCE_COLOR`` with output to a log file, an output
that cannot be written (a full disk, a closed stdout), and help on narrow terminals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import crystallize_command

from crystallize.store import list_runs

needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
posix = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell redirections")


def crystallize(cwd: Path, *args: str, env: dict[str, str] | None = None, stdout: object = subprocess.PIPE,
                shell_redirect: str = "") -> subprocess.CompletedProcess[str]:
    """``crystallize ARGS`` in ``cwd`` (``shell_redirect``, e.g. ``>&-``, applied by sh)."""
    environment = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1", "CRYSTALLIZE_DEBUG": ""}
    environment.pop("FORCE_COLOR", None)
    environment.update(env or {})
    command = [*crystallize_command(), *args]
    if shell_redirect:
        command = ["sh", "-c", f'"$@" {shell_redirect}', "sh", *command]
    return subprocess.run(
        command, cwd=cwd, env=environment, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120
    )


def test_force_color_off_a_terminal_gives_plain_progress_lines(make_experiment, tmp_path):
    make_experiment(replicates=3)
    log = tmp_path / "log.txt"
    with open(log, "w") as out:
        proc = crystallize(tmp_path, "run", "numbers", env={"FORCE_COLOR": "1", "NO_COLOR": ""}, stdout=out)
    assert proc.returncode == 0, proc.stderr
    text = log.read_text(encoding="utf-8")
    assert "numbers: running 3 condition(s) × 3 replicate(s)" in text
    assert "numbers · shifted: 3/3 done, 0 error(s)" in text
    for code in ("\x1b[1A", "\x1b[2K", "\x1b[?25l"):  # cursor up, erase line, hide cursor
        assert code not in text


@needs_dev_full
def test_a_run_whose_stdout_is_full_says_the_run_is_stored(make_experiment, tmp_path):
    make_experiment(replicates=2)
    with open("/dev/full", "w") as full:
        proc = crystallize(tmp_path, "run", "numbers", stdout=full)
    assert proc.returncode == 1
    [run] = list_runs(tmp_path / "data")
    assert run.status == "completed"
    assert proc.stderr.splitlines()[-1] == (
        "Error: the output could not be written to stdout (No space left on device); numbers is stored "
        f"as completed: see it with: crystallize show numbers --run {run.run_id}."
    )
    assert "unexpected" not in proc.stderr and "progress display failed" not in proc.stderr


@needs_dev_full
def test_help_to_a_full_disk_is_one_error_line(tmp_path):
    with open("/dev/full", "w") as full:
        proc = crystallize(tmp_path, "--help", stdout=full)
    assert proc.returncode == 1
    assert proc.stderr == (
        "Error: the output could not be written to stdout (No space left on device); "
        "check where stdout goes (a full disk, a closed pipe or file).\n"
    )


@posix
def test_commands_whose_stdout_is_closed_fail_with_one_line(make_experiment, tmp_path):
    make_experiment(replicates=2)
    for _ in range(2):
        assert crystallize(tmp_path, "run", "numbers").returncode == 0
    first, second = (run.run_id for run in list_runs(tmp_path / "data"))
    for args in (("runs", "numbers"), ("list",), ("diff", first, second), ("runs", "numbers", "--json")):
        proc = crystallize(tmp_path, *args, shell_redirect=">&-")
        assert proc.returncode == 1, args
        assert proc.stderr == (
            "Error: the output could not be written to stdout (stdout is closed); "
            "check where stdout goes (a full disk, a closed pipe or file).\n"
        ), args


@posix
def test_a_run_with_stdout_closed_is_stored_and_says_so(make_experiment, tmp_path):
    make_experiment(replicates=2)
    proc = crystallize(tmp_path, "run", "numbers", "--json", shell_redirect=">&-")
    assert proc.returncode == 1
    [run] = list_runs(tmp_path / "data")
    assert run.status == "completed"
    assert proc.stderr.splitlines()[-1] == (
        "Error: the output could not be written to stdout (stdout is closed); numbers is stored "
        f"as completed: see it with: crystallize show numbers --run {run.run_id}."
    )


def test_a_closed_pipe_is_still_silent(make_experiment, tmp_path):
    make_experiment(replicates=2)
    proc = subprocess.run(
        ["sh", "-c", '"$@" | head -c 1 > /dev/null', "sh", *crystallize_command(), "list", "--json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.stderr == ""


@pytest.mark.parametrize("command", ["run", "delete", "show", "runs", "diff", "list", "report", "new", "compact"])
def test_narrow_help_never_cuts_option_names(tmp_path, command):
    import typer.main

    from crystallize.cli.app import build_app

    click_command = typer.main.get_command(build_app()).commands[command]
    names = [opt for param in click_command.params for opt in (*param.opts, *param.secondary_opts)
             if opt.startswith("--")]
    proc = crystallize(tmp_path, command, "--help", env={"COLUMNS": "40"})
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout
    for name in names:
        assert name in proc.stdout, (name, proc.stdout)


def test_run_help_says_what_exit_code_2_means(tmp_path):
    proc = crystallize(tmp_path, "run", "--help")
    text = " ".join(proc.stdout.split())
    assert "2 when the run could not start or its config is wrong" in text
    assert "(a hypothesis names a metric no condition recorded: the run is stored" in text


def test_a_hypothesis_typo_exits_2_after_storing_the_run(make_experiment, tmp_path):
    folder = make_experiment(replicates=2, hypothesis=True)
    config = folder / "config.yaml"
    config.write_text(config.read_text().replace("metrics: total", "metrics: totl"))
    proc = crystallize(tmp_path, "run", "numbers", "--json")
    assert proc.returncode == 2
    [run] = list_runs(tmp_path / "data")
    assert f"The run is stored as {run.run_id}" in proc.stderr
    assert json.loads(proc.stdout or "null") is None  # nothing on stdout


def test_progress_is_live_only_on_a_real_terminal():
    import io

    from rich.console import Console

    from crystallize.cli.progress import RunProgress

    forced = Console(file=io.StringIO(), force_terminal=True)  # what FORCE_COLOR does off a terminal
    assert forced.is_terminal
    assert not RunProgress(forced).live
